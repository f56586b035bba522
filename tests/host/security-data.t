#!/usr/bin/env bash
# security-data.t: the data plane against an attacker on the network. lego-mmon and lego-smon
# (ASan+UBSan) require capabilities: every attack of mmon_attack and smon_attack is refused
# with a clear error and a log line, the victim's data intact. Then resource attacks on
# release builds, with their RSS: hundreds of connections that never finish their handshake,
# a tenant opening more connections than its vNode may hold, accepts failing for want of
# file descriptors; a legitimate client is served throughout.
. "$(dirname "$0")/../lib/tap.sh"
tap_tmpdir
plan 30

. "$REPO/tests/lib/servers.sh"
trap 'server_kill_all; rm -rf "$TAP_TMP"' EXIT
REL=$BUILD/release/bin
FLOOD=$REL/conn_flood

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
legit() { # HOST:PORT: a vNode with a capability is served (STAT), trying again once as
	# lego-vmm reconnects: on a loaded machine a flood may evict its handshake before its
	# HELLO and AUTH arrive, like any other handshake that is the oldest
	"$REL/mem_admin" "$1" 77 stat 2>&1 | grep -q '^pool_bytes' ||
		"$REL/mem_admin" "$1" 77 stat 2>&1 | grep -q '^pool_bytes'
}
# peak RSS (KiB) of pid $1 while pid $2 runs, and whether a legitimate client ($3) was served
# every time it asked meanwhile
watch_flood() {
	PEAK=0
	SERVED=0
	ASKED=0
	while kill -0 "$2" 2>/dev/null; do
		r=$(rss_kb "$1")
		[ "${r:-0}" -gt "$PEAK" ] && PEAK=$r
		ASKED=$((ASKED + 1))
		legit "$3" && SERVED=$((SERVED + 1))
		sleep 0.3
	done
}

# ---- the attacks, against the sanitizer builds ----------------------------------------
# attack TOOL HOST:PORT WHAT: TOOL's TAP run passes every check it plans
attack() {
	local out rc planned
	out=$("$BUILD/asan/bin/$1" "$2" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$TAP_TMP/$1.txt"
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out")
	is "$rc/$(grep -c '^ok ' <<<"$out")" "0/${planned:-missing}" "$1: $3 ($planned checks)"
	grep '^not ok' <<<"$out" | while read -r l; do diag "$l"; done
}

mmon_start attacked 64M
attack mmon_attack "127.0.0.1:$MMON_PORT" "every attack refused as specified, the victim's pages intact"
log=$(cat "$TAP_TMP/attacked.log")
like "$log" "warn: .*READ request [0-9]+ refused: no valid capability: this server requires a capability: AUTH first" \
	"a request without a capability is logged with its reason"
like "$log" "warn: .*capability refused: capability [0-9a-f]+ is for vNode 24929, this connection said HELLO as vNode 20817" \
	"a foreign HELLO is logged"
like "$log" "warn: .*capability refused: .*is not proven by its holder \(replayed from another connection\?\)" \
	"a replayed capability is logged"
like "$log" "warn: .*capability refused: .*is signed by a key this server does not trust" \
	"a forged capability is logged"
like "$log" "warn: .*capability refused: .*has a bad signature \(forged or altered\)" \
	"a tampered capability is logged"
like "$log" "warn: .*capability refused: .*expired 10[0-9] s ago" "an expired capability is logged"
like "$log" "warn: .*RELEASE request [0-9]+ refused: permission denied: the region belongs to another vNode" \
	"RELEASE by a stranger is logged"
like "$log" "warn: .*OPEN request [0-9]+ refused: over the capability's quota" \
	"OPENs over the quota are logged"

smon_start attacked-s --dir "$TAP_TMP/vols"
attack smon_attack "127.0.0.1:$SMON_PORT" "every attack refused as specified, the victim's volume intact"
log=$(cat "$TAP_TMP/attacked-s.log")
like "$log" "warn: .*READ request [0-9]+ refused: no valid capability: .*this server requires a capability" \
	"lego-smon: a volume read without a capability is logged"
like "$log" "warn: .*READ request [0-9]+ refused: not granted by the capability: volume 'victim-vol'" \
	"lego-smon: a read of another's volume is logged"
like "$log" "warn: .*capability refused: .*not proven by its holder" "lego-smon: a replay is logged"
kill -TERM "$MMON_PID" "$SMON_PID"
wait "$MMON_PID" "$SMON_PID"
is "$?" 0 "both servers shut down cleanly after the attacks"
unlike "$(cat "$TAP_TMP/attacked.log" "$TAP_TMP/attacked-s.log")" \
	"ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"
SERVER_PIDS=()

# ---- connections that never finish their handshake (release build: its RSS) -----------
MMON=$REL/lego-mmon mmon_start flooded 256M --handshake-timeout 3000
pid=$MMON_PID
addr=127.0.0.1:$MMON_PORT
base=$(rss_kb "$pid")
base_fds=$(fds "$pid")
"$FLOOD" "$addr" 300 idle 8 >"$TAP_TMP/flood1.txt" &
fpid=$!
watch_flood "$pid" "$fpid" "$addr"
wait "$fpid"
ok "[ $ASKED -gt 3 ] && [ $SERVED = $ASKED ]" \
	"300 idle connections: a vNode with a capability was served each of the $ASKED times it asked"
is "$(cat "$TAP_TMP/flood1.txt")" "connected 300"$'\n'"closed_by_server 300" \
	"... all 300 were accepted, then closed by the server"
diag "lego-mmon RSS: $((base / 1024)) MiB idle, at most $((PEAK / 1024)) MiB under 300 idle connections"
ok "[ $PEAK -lt $((base + 64 * 1024)) ]" \
	"... its RSS stayed within 64 MiB of idle: $((base / 1024)) -> $((PEAK / 1024)) MiB"
like "$(cat "$TAP_TMP/flooded.log")" "warn: 127.0.0.1:[0-9]+: closed before its handshake ended: newer connections are waiting" \
	"... the oldest handshakes made room for new ones, logged"
"$FLOOD" "$addr" 100 hello 5 >"$TAP_TMP/flood2.txt" &
fpid=$!
watch_flood "$pid" "$fpid" "$addr"
wait "$fpid"
ok "[ $SERVED = $ASKED ] && grep -q 'closed_by_server 100' '$TAP_TMP/flood2.txt'" \
	"100 connections that say HELLO and show nothing: closed; the legitimate vNode served ($SERVED/$ASKED)"
like "$(cat "$TAP_TMP/flooded.log")" "warn: 127.0.0.1:[0-9]+: closed: no HELLO and capability within 3000 ms" \
	"... a handshake past its deadline is closed, logged"
ok "for _ in \$(seq 100); do [ \$(fds $pid) -le $base_fds ] && break; sleep 0.1; done; [ \$(fds $pid) -le $base_fds ]" \
	"... and every file descriptor they took is given back ($(fds "$pid") open)"
diag "lego-mmon RSS after the floods: $(($(rss_kb "$pid") / 1024)) MiB"

# ---- a tenant with a valid capability for its own vNode -----------------------------
"$FLOOD" "$addr" 100 auth 3 >"$TAP_TMP/flood3.txt" &
fpid=$!
watch_flood "$pid" "$fpid" "$addr"
wait "$fpid"
is "$(head -n 1 "$TAP_TMP/flood3.txt")" "connected 64" \
	"one vNode's capability holds at most 64 connections (100 asked)"
like "$(cat "$TAP_TMP/flooded.log")" "capability refused: vNode 1000 holds 64 connections here, the most it may" \
	"... the 65th is refused, logged"
ok "[ $SERVED = $ASKED ]" "... another vNode is served meanwhile ($SERVED/$ASKED)"
diag "lego-mmon RSS under 64 established connections of one vNode: at most $((PEAK / 1024)) MiB"
ok "[ $PEAK -lt $((base + 96 * 1024)) ]" "... RSS $((PEAK / 1024)) MiB, within 96 MiB of idle"

# ---- file descriptors run out under it: accepts back off, the log stays short -----------
prlimit --pid "$pid" --nofile=60:60
lines=$(wc -l <"$TAP_TMP/flooded.log")
"$FLOOD" "$addr" 40 hello 6 >/dev/null &
fpid=$!
sleep 1
cpu=$(ps -o pcpu= -p "$pid" | tr -d ' ')
wait "$fpid"
new=$(($(wc -l <"$TAP_TMP/flooded.log") - lines))
ok "grep -q 'accept failed: Too many open files' '$TAP_TMP/flooded.log' && [ $new -lt 200 ]" \
	"out of file descriptors: accepts fail and back off, $new log lines (not a spinning log)"
ok "legit $addr" "afterwards a vNode with a capability is served again"
diag "lego-mmon CPU while accepts failed: ${cpu}%"

# ---- lego-smon: idle connections, a client served ------------------------------------
SMON=$REL/lego-smon smon_start flooded-s --dir "$TAP_TMP/vols2" --handshake-timeout 3000
spid=$SMON_PID
saddr=127.0.0.1:$SMON_PORT
LEGO_SMON=$saddr "$REL/legoctl" volume create v1 16M >/dev/null
sbase=$(rss_kb "$spid")
"$FLOOD" "$saddr" 200 idle 6 smon >"$TAP_TMP/flood4.txt" &
fpid=$!
SPEAK=0
served=0
asked=0
while kill -0 "$fpid" 2>/dev/null; do
	r=$(rss_kb "$spid")
	[ "${r:-0}" -gt "$SPEAK" ] && SPEAK=$r
	asked=$((asked + 1))
	head -c 4096 /dev/zero | "$REL/smon_io" "$saddr" v1 write 0 >/dev/null 2>&1 && served=$((served + 1))
	sleep 0.3
done
wait "$fpid"
ok "[ $asked -ge 2 ] && [ $served = $asked ]" \
	"lego-smon under 200 idle connections: a client with a capability wrote each of the $asked times"
diag "lego-smon RSS: $((sbase / 1024)) MiB idle, at most $((SPEAK / 1024)) MiB under 200 idle connections"
ok "[ $SPEAK -lt $((sbase + 64 * 1024)) ]" "... its RSS within 64 MiB of idle"
