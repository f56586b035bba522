#!/usr/bin/env bash
# pause.t: the control socket's pause and resume (every vCPU parked: no CPU time, no console
# output; the guest finishes its memtest intact after resume), SIGTERM ending a paused vNode,
# the stats fields, and --region-owners putting every vRegion on the second memory server.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
MMON=$BUILD/asan/bin/lego-mmon
GUEST=$BUILD/images/lego-guest.elf
tap_tmpdir
plan 41

. "$REPO/tests/lib/servers.sh"
PIDS=()
cleanup() {
	server_kill_all
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}

# memtest passes that keep 2 vCPUs busy past the checks below (each control request starts
# a python3, slow in the test bed): the test bed runs a 16 MiB pass in ~0.3 s on an idle
# machine, hardware ~10x faster, PVM (LEGO_TESTBED=never) ~1000x slower.
if kvm_nested; then
	PASSES=60
elif kvm_hw; then
	PASSES=1000
else
	PASSES=1
fi

# An abstract socket (@NAME): the test bed's /tmp may be a 9p share, which cannot hold sockets.
CTL="@lego-test-$$-pause"
ask() { # command: one request on the control socket, its answer (empty if none)
	/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect("\0" + sys.argv[1][1:])
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
' "$CTL" "$1" 2>/dev/null
}
field() { # json name: one top-level field of a stats answer (empty if absent)
	/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' \
		"$1" "$2" 2>/dev/null
}
wait_for() { # pid: its exit status, killing it after 600 s (a hang must not stall the suite)
	for _ in $(seq 6000); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}
wait_running() { # until the guest has used CPU time and written to its console; sets st
	st=
	for _ in $(seq 300); do
		st=$(ask stats)
		[ "$(field "$st" cpu_time_ns)" -gt 0 ] 2>/dev/null &&
			[ "$(field "$st" console_bytes)" -gt 0 ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# 1. Pause and resume a 2-vCPU memtest.
"$VMM" --kernel "$GUEST" --mem 64M --cpus 2 --control "$CTL" --console "$TAP_TMP/console.txt" \
	--append "run=memtest memtest.size=16M memtest.passes=$PASSES" >"$TAP_TMP/pause.log" 2>&1 </dev/null &
vpid=$!
PIDS+=("$vpid")
ok wait_running "the guest runs: stats report vCPU time and console output"
like "$(ask help)" '"pause", "resume"' "help lists pause and resume"
like "$st" '^\{"vnode": [0-9]+, "state": "running", "vcpus": 2, "mem_bytes": 67108864, "cpu_time_ns": [0-9]+, "console_bytes": [0-9]+, "console_in_bytes": 0, "pager": null\}$' \
	"stats: state, vcpus, mem_bytes, cpu_time_ns, console_bytes, console_in_bytes; pager null without remote memory"
is "$(ask pause)" '{"state": "paused"}' "pause answers once the vCPUs are parked"
like "$(ask pause)" '^\{"error": "pause: already paused"\}$' "pausing a paused vNode is an error"
s1=$(ask stats)
is "$(field "$s1" state)" paused "stats say paused"
sleep 1.5
s2=$(ask stats)
c1=$(field "$s1" cpu_time_ns)
c2=$(field "$s2" cpu_time_ns)
ok "[ $((c2 - c1)) -lt 1000000 ]" "no vCPU CPU time while paused (+$((c2 - c1)) ns in 1.5 s)"
is "$(field "$s2" console_bytes)" "$(field "$s1" console_bytes)" "no console output while paused"
is "$(field "$s2" console_bytes)" "$(stat -c %s "$TAP_TMP/console.txt")" \
	"console_bytes is what the guest wrote to its console"
ok "kill -0 $vpid" "the paused vNode is still there"
unlike "$(cat "$TAP_TMP/console.txt")" "RESULT" "the guest was paused mid-memtest"
is "$(ask resume)" '{"state": "running"}' "resume answers running"
like "$(ask resume)" '^\{"error": "resume: not paused"\}$' "resuming a running vNode is an error"
sleep 1
s3=$(ask stats)
c3=$(field "$s3" cpu_time_ns)
is "$(field "$s3" state)" running "stats say running again"
ok "[ $((c3 - c2)) -gt 100000000 ]" "the vCPUs use CPU time again (+$((c3 - c2)) ns in 1 s)"
cycles=0
for _ in $(seq 5); do
	[ "$(ask pause)" = '{"state": "paused"}' ] && [ "$(ask resume)" = '{"state": "running"}' ] &&
		cycles=$((cycles + 1))
done
is "$cycles" 5 "five quick pause/resume cycles"
wait_for $vpid
rc=$?
out=$(cat "$TAP_TMP/pause.log" "$TAP_TMP/console.txt")
is "$rc" 0 "after the pauses the guest finishes with exit status 0"
like "$out" "RESULT memtest PASS .*vcpus=2 .*errors=0" "... every memtest pattern verified"
like "$out" "control: pause" "pauses are logged"
no_sanitizer_report "$out" "pause/resume run"

# 2. SIGTERM while paused ends the vNode promptly.
"$VMM" --kernel "$GUEST" --mem 64M --cpus 2 --control "$CTL" \
	--append "run=memtest memtest.size=16M memtest.passes=$PASSES" >"$TAP_TMP/term.log" 2>&1 </dev/null &
vpid=$!
PIDS+=("$vpid")
wait_running
is "$(ask pause)" '{"state": "paused"}' "second vNode paused"
start=$(date +%s)
kill -TERM $vpid
wait_for $vpid
rc=$?
took=$(($(date +%s) - start))
is "$rc" 143 "SIGTERM ends a paused vNode with 128+15"
ok "[ $took -le 5 ]" "... within ${took}s"
no_sanitizer_report "$(cat "$TAP_TMP/term.log")" "SIGTERM while paused"

# 3. --region-owners: all eight 2 MiB vRegions on the second server (the default would
# alternate). Paused mid-run, flushed (every dirty page written back to its server) and
# resumed. --keep-regions leaves the regions for the servers' counts at exit. (Eviction
# through a small ExCache is remote-memory.t's business, and slow in the test bed.)
mmon_start mm1 256M
P1=$MMON_PORT
M1=$MMON_PID
mmon_start mm2 256M
P2=$MMON_PORT
M2=$MMON_PID
ok "[ -n '$P1' ] && [ -n '$P2' ]" "two memory servers listening (ports $P1, $P2)"
"$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 16M --region-size 2M --mmon "127.0.0.1:$P1" \
	--mmon "127.0.0.1:$P2" --region-owners 1,1,1,1,1,1,1,1 --keep-regions --control "$CTL" \
	--append "run=memtest memtest.size=4M memtest.passes=$((PASSES / 2))" \
	>"$TAP_TMP/owners.log" 2>&1 </dev/null &
vpid=$!
PIDS+=("$vpid")
wait_running
like "$st" '"vcpus": 1, "mem_bytes": 16777216, .*"pager": \{"faults": [1-9]' \
	"stats with remote memory carry the pager figures"
is "$(ask pause)" '{"state": "paused"}' "remote-memory vNode paused"
like "$(ask flush)" '^\{"flushed_pages": [1-9][0-9]*\}$' "... its dirty pages flushed while paused"
is "$(ask resume)" '{"state": "running"}' "... and resumed"
wait_for $vpid
rc=$?
out=$(cat "$TAP_TMP/owners.log")
is "$rc" 0 "--region-owners 1,...,1: exit status 0"
like "$out" "RESULT memtest PASS .*errors=0" "... memtest verified with every vRegion on mm2"
like "$out" "vRegion owners \\(--region-owners\\): 1,1,1,1,1,1,1,1" "the owner map is logged"
no_sanitizer_report "$out" "--region-owners run"
kill -TERM "$M1" "$M2"
wait "$M1"
is "$?" 0 "mm1 shuts down cleanly"
wait "$M2"
is "$?" 0 "mm2 shuts down cleanly"
log1=$(cat "$TAP_TMP/mm1.log")
log2=$(cat "$TAP_TMP/mm2.log")
like "$log1" "served 0 reads, 0 writes, refused 0 requests; 0 regions" "mm1 holds no vRegion and saw no page traffic"
like "$log2" "served [0-9]+ reads, [1-9][0-9]* writes, refused 0 requests; 8 regions" \
	"mm2 holds all 8 vRegions and served the page traffic"

# Owners that do not fit the servers or the vRegions: refused before any connection.
out=$("$VMM" --kernel "$GUEST" --mem 16M --region-size 2M --mmon "127.0.0.1:$P1" \
	--mmon "127.0.0.1:$P2" --region-owners 1,1,1,1,1,1,1,2 2>&1 </dev/null)
is "$?" 64 "an owner index beyond the servers: exit 64"
like "$out" "server index 2 is out of range" "... naming the index"
out=$("$VMM" --kernel "$GUEST" --mem 16M --region-size 2M --mmon "127.0.0.1:$P1" \
	--region-owners 0,0,0 2>&1 </dev/null)
is "$?" 64 "fewer owners than vRegions: exit 64"
like "$out" "names 3 vRegion\\(s\\), .* makes 8" "... giving both counts"
done_testing
