#!/usr/bin/env bash
# mmon.t: lego-mmon (ASan+UBSan) on loopback: every kind of bad request over the real
# transport (mmon_probe), clean shutdown, and its command line.
. "$(dirname "$0")/../lib/tap.sh"
MMON=$BUILD/asan/bin/lego-mmon
PROBE=$BUILD/asan/bin/mmon_probe
tap_tmpdir
plan 16

. "$REPO/tests/lib/servers.sh"
trap 'server_kill_all; rm -rf "$TAP_TMP"' EXIT
mmon_start probe-me 64M
mpid=$MMON_PID
port=$MMON_PORT
ok "[ -n '$port' ]" "lego-mmon listens on a port it picked ($port)"

out=$("$PROBE" 127.0.0.1 "$port" 2>&1)
rc=$?
printf '%s\n' "$out" >"$TAP_TMP/probe.log"
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out")
passed=$(grep -c '^ok ' <<<"$out")
is "$rc" 0 "mmon_probe: every bad request answered as specified"
is "$passed" "${planned:-missing}" "mmon_probe: $passed of ${planned:-?} checks passed"
grep '^not ok' <<<"$out" | while read -r l; do diag "$l"; done
ok "kill -0 $mpid" "lego-mmon is still running after the bad requests"

log=$(cat "$TAP_TMP/probe-me.log")
like "$log" "warn: .*refused: protocol error: bad magic" "a bad magic is logged with its reason"
like "$log" "refused: permission denied: the region belongs to another vNode" \
	"a foreign vNode's request is logged"
kill -TERM $mpid
wait $mpid
is "$?" 0 "SIGTERM: clean exit 0"
log=$(cat "$TAP_TMP/probe-me.log")
like "$log" "probe-me: shutting down" "shutdown is logged"
unlike "$log" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"

like "$("$MMON" --help)" "--pool SIZE" "--help describes the options"
"$MMON" --pool lots 2>/dev/null
is "$?" 64 "a bad --pool: exit 64"
"$MMON" --listen nowhere 2>/dev/null
is "$?" 64 "a --listen without a port: exit 64"
"$MMON" --bogus 2>/dev/null
is "$?" 64 "an unknown option: exit 64"
# A port already taken: a clear error, not a crash.
"$MMON" --pki "$CAP_PKI" --listen 127.0.0.1:0 --port-file "$TAP_TMP/p2" 2>/dev/null &
p2=$!
for _ in $(seq 100); do
	[ -s "$TAP_TMP/p2" ] && break
	sleep 0.1
done
out=$(timeout 20 "$MMON" --pki "$CAP_PKI" --listen "127.0.0.1:$(cat "$TAP_TMP/p2")" 2>&1)
rc=$?
kill -TERM $p2
wait $p2
ok "[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q 'cannot listen' <<<\"\$out\"" \
	"a port in use: exit $rc with 'cannot listen'"
# Secure by default: no capability key, no server; the insecure option says so loudly.
out=$(timeout 20 "$MMON" --pki "$TAP_TMP/nopki" --listen 127.0.0.1:0 2>&1)
rc=$?
ok "[ $rc = 1 ] && grep -q 'capability-pub.pem' <<<\"\$out\" && grep -q -- '--insecure-no-capabilities' <<<\"\$out\"" \
	"without the capability public key: exit $rc, naming the file and the insecure option"
"$MMON" --insecure-no-capabilities --listen 127.0.0.1:0 --port-file "$TAP_TMP/p3" 2>"$TAP_TMP/insecure.log" &
p3=$!
for _ in $(seq 100); do
	[ -s "$TAP_TMP/p3" ] && break
	sleep 0.1
done
kill -TERM $p3
wait $p3
like "$(cat "$TAP_TMP/insecure.log")" "warn: WARNING: lego-mmon runs with --insecure-no-capabilities" \
	"--insecure-no-capabilities: it runs, with a loud warning"
