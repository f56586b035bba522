#!/usr/bin/env bash
# fuzz.t: every libFuzzer target (tests/fuzz/) for a bounded time (LEGO_FUZZ_SECONDS, default
# 7 each: eleven targets in about the time five took at 15) from its seed corpus; `make fuzz`
# runs them longer with a kept corpus.
. "$(dirname "$0")/../lib/tap.sh"
tap_tmpdir
trap 'rm -rf "$TAP_TMP"' EXIT
secs=${LEGO_FUZZ_SECONDS:-7}
targets=("$REPO"/tests/fuzz/fuzz_*.c)
plan ${#targets[@]}
for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	bin=$BUILD/fuzz/$name
	corpus=$TAP_TMP/corpus-$name
	mkdir -p "$corpus"
	out=$("$bin" -max_total_time="$secs" -rss_limit_mb=1024 -artifact_prefix="$TAP_TMP/" \
		"$corpus" "$REPO/tests/fuzz/corpus/${name#fuzz_}" 2>&1)
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' <<<"$out")
	ok "[ $rc = 0 ] && [ -n '$runs' ]" "$name: ${runs:-no} runs in $secs s without a crash, leak or hang"
	[ "$rc" = 0 ] || diag "$(grep -E 'ERROR|SUMMARY|Test unit written' <<<"$out" | head -n 5)"
done
