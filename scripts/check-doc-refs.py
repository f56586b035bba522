#!/usr/bin/env python3
"""check-doc-refs.py: every file, folder, identifier and option a document names exists in the tree.

Usage: scripts/check-doc-refs.py [FILE...]   (default: docs/ARCHITECTURE.md README.md)

What is checked, against the files git tracks (tests/fuzz/corpus/ and *.md left out):
  paths       a token with a '/' whose first part is a top-level entry of the tree
              (vmm/memory/pager.c, controlplane/pmon/, tests/host/*.t) must be a tracked
              file or folder; in backquotes, any such token must be one, or end one at a
              '/' (`memory/pager.c`); a placeholder part (NAME, UUID.run, <id>) stands
              for any name; a leading '/', '$', 'build/' or a '://' is not the tree's
  file names  a bare name with a source extension (pager.c, kvm.sh, pmon.t) must be the
              name of a tracked file
  identifiers a lower-case word with an '_' (remote_mem_io_read), an upper-case one with an
              '_' (MP_MAX_PAGES), and any single word in backquotes (`vm_stop`, `struct vm`,
              `procs[]`) must occur in the code with its comments removed, so that a name
              surviving only in a stale comment is reported; one written `name()` must be
              called or defined there; a prefix (`MP_`) must begin some name
  options     --name must occur as "--name" or as the string "name" in the tracked files
A name of another program (a virsh option, a libvirt tag) is declared in the document itself:
  <!-- check-doc-refs: external NAME... -->   (not rendered; checked names skip these)
Exit status 1 when something is not found, each on a line FILE:LINE: KIND: TOKEN."""
import fnmatch
import os
import re
import subprocess
import sys

EXTS = ('c', 'h', 'S', 't', 'sh', 'mk', 'py', 'bench', 'ld', 'txt', 'md')
FILE_RE = re.compile(r'^[\w.+*-]+\.(%s)$' % '|'.join(EXTS))
SKIP_CORPUS = ('tests/fuzz/corpus/',)


def tracked(root):
    out = subprocess.run(['git', '-C', root, 'ls-files'], capture_output=True, text=True,
                         check=True).stdout
    return [p for p in out.split('\n') if p]


def strip_c_comments(text):
    """The text without /* */ and // comments (strings and characters kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '/' and text.startswith('/*', i):
            j = text.find('*/', i + 2)
            i = n if j < 0 else j + 2
            out.append(' ')
        elif c == '/' and text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def corpus(root, files):
    raw, code = [], []
    for p in files:
        if p.endswith('.md') or p.startswith(SKIP_CORPUS):
            continue
        try:
            text = open(os.path.join(root, p), encoding='utf-8').read()
        except (UnicodeDecodeError, OSError):
            continue
        raw.append(text)
        code.append(strip_c_comments(text) if p.endswith(('.c', '.h', '.S')) else text)
    raw, code = '\n'.join(raw), '\n'.join(code)
    words = set(re.findall(r'[A-Za-z_][A-Za-z0-9_]*', code))
    called = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(', code))
    return raw, words, called


PLACEHOLDERS = ('NAME', 'UUID', 'ID', 'DIR', 'RUNDIR', 'PATH', 'FILE', 'HOST', 'PORT', 'N', 'X',
                'VOLUME', 'PROG')


def pattern_of(token):
    """A path token as an fnmatch pattern: a placeholder (NAME, UUID.run) or <x> stands for
    any name."""
    parts = []
    for part in token.split('/'):
        stem, dot, ext = part.partition('.')
        if stem in PLACEHOLDERS or re.fullmatch(r'<[^>]*>', stem):
            parts.append('*' + dot + ext)
        else:
            parts.append(part)
    return '/'.join(parts)


def path_ok(token, entries, suffix_ok):
    pat = pattern_of(token.rstrip('/'))
    if not any(ch in pat for ch in '*?['):
        if pat in entries:
            return True
        return suffix_ok and any(e.endswith('/' + pat) for e in entries)
    if any(fnmatch.fnmatchcase(e, pat) for e in entries):
        return True
    return suffix_ok and any(fnmatch.fnmatchcase(e, '*/' + pat) for e in entries)


def check_span(span, in_quotes, bad, entries, top, names, raw, words, called):
    # Options.
    for opt in re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])', span):
        if f'--{opt}' not in raw and f'"{opt}"' not in raw:
            bad('option', '--' + opt)
    for tok in re.split(r'[\s,;()\[\]|"\'=]+', span.replace('**', ' ')):
        tok = tok.strip('.:').rstrip('.,;:')
        if not tok:
            continue
        # Paths and file names.
        if '/' in tok:
            if '://' in tok or tok.startswith(('/', '$', '..', '~', 'build/')) or '@' in tok:
                continue
            first = tok.split('/')[0]
            if first in top:
                if not path_ok(tok, entries, False):
                    bad('path', tok)
            elif in_quotes and re.fullmatch(r'[a-z0-9_.*<>{}-]+(/[\w.*<>-]*)+', tok):
                if pattern_of(tok) != tok:
                    continue  # a placeholder outside the tree: domains/NAME.xml
                if not path_ok(tok, entries, True):
                    bad('path', tok)
            continue
        if FILE_RE.match(tok) and not re.fullmatch(r'[A-Z]+\.\w+', tok):
            if not any(fnmatch.fnmatchcase(n, tok) for n in names):
                bad('file', tok)
    # Identifiers.
    if in_quotes:
        m = re.fullmatch(r'(?:struct |enum )?([A-Za-z_][A-Za-z0-9_]*)(\(\)|\[\])?', span.strip())
        if m:
            name, call = m.group(1), m.group(2) == '()'
            if name.endswith('_') and name.isupper():
                if not any(w.startswith(name) for w in words):
                    bad('prefix', span)
            elif name not in words:
                bad('identifier', span)
            elif call and name not in called:
                bad('function', span)
            return
    for name, call in re.findall(
            r'(?<![\w./-])([a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9])(\(\))?(?![\w./-])', span):
        if name not in words:
            bad('identifier', name)
        elif call and name not in called:
            bad('function', name + '()')
    for name in re.findall(r'(?<![\w./-])([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])(?![\w./-])', span):
        if name not in words:
            bad('identifier', name)


def check(path, entries, top, names, raw, words, called):
    problems = []
    text = open(path, encoding='utf-8').read()
    external = set()
    for decl in re.findall(r'<!--\s*check-doc-refs:\s*external(.*?)-->', text, re.S):
        external.update(decl.split())
    text = re.sub(r'<!--.*?-->', lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text, flags=re.S)
    text = re.sub(r'^\s*```.*$', '', text, flags=re.M)  # fences; their lines are checked as text

    def bad_at(lineno):
        def bad(kind, token):
            if token not in external and token.rstrip('()') not in external:
                problems.append(f'{path}:{lineno}: {kind}: {token}')
        return bad

    # Backquoted spans (which may wrap onto the next line), then the rest line by line.
    for m in re.finditer(r'`([^`]+)`', text):
        lineno = text.count('\n', 0, m.start()) + 1
        check_span(m.group(1).replace('\n', ' '), True, bad_at(lineno), entries, top, names,
                   raw, words, called)
    rest = re.sub(r'`[^`]+`', lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)
    for lineno, line in enumerate(rest.split('\n'), 1):
        check_span(line, False, bad_at(lineno), entries, top, names, raw, words, called)
    return sorted(problems, key=lambda p: int(p.split(':')[1]))


def main():
    root = subprocess.run(['git', 'rev-parse', '--show-toplevel'], capture_output=True,
                          text=True, check=True).stdout.strip()
    files = tracked(root)
    entries = set(files)
    for f in files:
        parts = f.split('/')
        for i in range(1, len(parts)):
            entries.add('/'.join(parts[:i]))
    top = {f.split('/')[0] for f in files if '/' in f}
    names = {os.path.basename(f) for f in files}
    raw, words, called = corpus(root, files)
    docs = sys.argv[1:] or [os.path.join(root, 'docs/ARCHITECTURE.md'),
                            os.path.join(root, 'README.md')]
    problems = []
    for d in docs:
        problems += check(d, entries, top, names, raw, words, called)
    for p in problems:  # in each file's line order
        print(p)
    print(f'{len(docs)} file(s) checked; {len(problems)} reference(s) not found in the tree')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
