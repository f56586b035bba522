#!/usr/bin/env bash
# run-all.sh: make bench: run every tests/bench/*.bench, print a table, append JSON lines.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# Each bench runs where its figures mean something: the ones that need KVM call
# kvm_require themselves (and so may run inside the test bed); the rest run on this host.
mkdir -p "$BUILD/bench"
: >"$BENCH_TABLE"
for b in "$REPO"/tests/bench/*.bench; do
	echo "bench: running $(basename "$b" .bench)" >&2
	bash "$b"
done
printf '\n%-14s %-28s %12s %-6s %-10s %s\n' BENCH METRIC VALUE UNIT ENV NOTE
while IFS=$'\t' read -r bench metric value unit env note; do
	printf '%-14s %-28s %12s %-6s %-10s %s\n' "$bench" "$metric" "$value" "$unit" "$env" "$note"
done <"$BENCH_TABLE"
echo
echo "appended to $BENCH_OUT"
