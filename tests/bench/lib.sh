# lib.sh: benchmark helpers: record one figure as a JSON line and keep it for the table.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
BENCH_OUT=${BENCH_OUT:-$BUILD/bench/results.jsonl}
BENCH_TABLE=${BENCH_TABLE:-$BUILD/bench/last-run.tsv}
export REPO BUILD BENCH_OUT BENCH_TABLE

. "$REPO/tests/lib/kvm.sh"

# bench_record BENCH METRIC VALUE UNIT [NOTE]
bench_record() {
	mkdir -p "$(dirname "$BENCH_OUT")"
	printf '{"bench": "%s", "metric": "%s", "value": %s, "unit": "%s", "env": "%s", "time": "%s"}\n' \
		"$1" "$2" "$3" "$4" "$(kvm_env)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$BENCH_OUT"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(kvm_env)" "${5:-}" >>"$BENCH_TABLE"
}

# median of numbers on stdin
median() {
	sort -g | awk '{a[NR]=$1} END {if (NR == 0) exit 1; if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}
