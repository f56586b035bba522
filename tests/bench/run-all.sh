#!/usr/bin/env bash
# run-all.sh: make bench: run every tests/bench/*.bench, print a table, append JSON lines.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kvm_require "$0" "$@"
mkdir -p "$BUILD/bench"
: >"$BENCH_TABLE"
for b in "$REPO"/tests/bench/*.bench; do
	echo "bench: running $(basename "$b" .bench) ($(kvm_env))" >&2
	bash "$b"
done
printf '\n%-14s %-28s %12s %-6s %s\n' BENCH METRIC VALUE UNIT NOTE
while IFS=$'\t' read -r bench metric value unit note; do
	printf '%-14s %-28s %12s %-6s %s\n' "$bench" "$metric" "$value" "$unit" "$note"
done <"$BENCH_TABLE"
echo
echo "appended to $BENCH_OUT (env: $(kvm_env))"
