#!/usr/bin/env python3
"""code-sizes.py: C files over a line limit and functions over a line limit.

A function is counted from its opening brace, alone at the start of a line (the Linux
brace style .clang-format enforces), to the closing brace alone at the start of a line;
its length is the lines between them, both included. Files are counted with every line.
Usage: code-sizes.py [--file-max N] [--func-max N] [--top K] PATH...  (folders: every
*.c under them). Exit 1 when something is over a limit."""
import argparse
import os
import re
import sys


def c_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    if n.endswith('.c'):
                        yield os.path.join(root, n)
        elif p.endswith('.c'):
            yield p


def functions(path):
    lines = open(path, encoding='utf-8', errors='replace').read().split('\n')
    start = None
    name = '?'
    for i, line in enumerate(lines):
        if line == '{' and start is None:
            start = i
            # the name: the last identifier followed by '(' in the lines just above
            head = ' '.join(lines[max(0, i - 4):i])
            m = re.findall(r'([A-Za-z_]\w*)\s*\(', head)
            name = m[0] if m else '?'
            cut = head.rfind(';')
            if cut >= 0:
                m = re.findall(r'([A-Za-z_]\w*)\s*\(', head[cut:])
                name = m[0] if m else name
        elif line.startswith('}') and start is not None:
            yield name, start + 1, i - start + 1
            start = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--file-max', type=int, default=800)
    ap.add_argument('--func-max', type=int, default=150)
    ap.add_argument('--top', type=int, default=0, help='also list the K largest of each')
    ap.add_argument('paths', nargs='+')
    a = ap.parse_args()
    over = 0
    files, funcs = [], []
    for f in c_files(a.paths):
        n = sum(1 for _ in open(f, encoding='utf-8', errors='replace'))
        files.append((n, f))
        for name, line, length in functions(f):
            funcs.append((length, f, line, name))
    for n, f in sorted(files, reverse=True):
        if n > a.file_max:
            print(f'file over {a.file_max} lines: {f}: {n}')
            over += 1
    for length, f, line, name in sorted(funcs, reverse=True):
        if length > a.func_max:
            print(f'function over {a.func_max} lines: {f}:{line} {name}: {length}')
            over += 1
    if a.top:
        print(f'largest files: ' + ', '.join(f'{f} {n}' for n, f in sorted(files, reverse=True)[:a.top]))
        print(f'largest functions: ' + ', '.join(f'{f}:{name} {n}' for n, f, _, name in sorted(funcs, reverse=True)[:a.top]))
    print(f'{len(files)} files, {len(funcs)} functions; {over} over the limits')
    return 1 if over else 0


if __name__ == '__main__':
    sys.exit(main())
