#!/usr/bin/env bash
# pager.t: the ExCache pager against two real lego-mmon servers, without KVM: an ordinary
# thread faults on memory 4x the cache (fill, sequential and random passes, every page
# checked), with 1 and 2 pager threads, by messages; all under ASan+UBSan.
. "$(dirname "$0")/../lib/tap.sh"
PB=$BUILD/asan/bin/pager_bench
MMON=$BUILD/asan/bin/lego-mmon
tap_tmpdir
plan 9

. "$REPO/tests/lib/servers.sh"
trap 'server_kill_all; rm -rf "$TAP_TMP"' EXIT
mmon_start a 256M
A=$MMON_PORT
mmon_start b 256M
SERVERS=(--mmon "127.0.0.1:$A" --mmon "127.0.0.1:$MMON_PORT")

for threads in 1 2; do
	out=$(timeout 300 "$PB" remote --ws 32M --touches 5000 --threads $threads "${SERVERS[@]}" 2>&1)
	rc=$?
	is "$rc" 0 "$threads pager thread(s): every page read back as written"
	like "$out" "errors 0" "$threads pager thread(s): zero verification errors"
	wb=$(awk '$1 == "pager_writebacks" {print $2}' <<<"$out")
	ok "[ ${wb:-0} -ge 8192 ]" "$threads pager thread(s): the whole fill was written back (${wb:-0} pages)"
done
unlike "$out" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "pager: no sanitizer report"
kill -TERM "${SERVER_PIDS[@]}"
wait "${SERVER_PIDS[@]}"
is "$?" 0 "memory servers shut down cleanly"
unlike "$(cat "$TAP_TMP/a.log" "$TAP_TMP/b.log")" "ERROR: AddressSanitizer|runtime error:|refused [1-9]" \
	"memory servers: no sanitizer report, no refused request"
SERVER_PIDS=()
