#!/usr/bin/env bash
# layout.t: the code keeps the shape docs/ARCHITECTURE.md describes: no C file over 800 lines
# and no function over 150 outside tests/ (scripts/code-sizes.py), every file and identifier
# the map and the README name exists (scripts/check-doc-refs.py), and the code is
# clang-formatted.
. "$(dirname "$0")/../lib/tap.sh"
plan 3
cd "$REPO" || exit 1
out=$(scripts/code-sizes.py lib vmm hypervisor controlplane guest-drivers 2>&1)
ok "[ $? = 0 ]" "no C file over 800 lines, no function over 150 ($(tail -n 1 <<<"$out"))"
[ "$TAP_FAILED" = 0 ] || diag "$out"
out=$(python3 scripts/check-doc-refs.py 2>&1)
rc=$?
ok "[ $rc = 0 ]" "docs/ARCHITECTURE.md and README.md name only files and identifiers that exist"
[ "$rc" = 0 ] || diag "$(tail -n 20 <<<"$out")"
out=$(clang-format --dry-run -Werror $(git ls-files '*.c' '*.h' 2>/dev/null || find lib vmm hypervisor controlplane guest-drivers tests -name '*.[ch]') 2>&1)
rc=$?
ok "[ $rc = 0 ]" "every C file is clang-formatted"
[ "$rc" = 0 ] || diag "$(grep -m 5 warning <<<"$out")"
done_testing
