#!/usr/bin/env bash
# remote-memory.t: vNodes whose guest RAM lives on two lego-mmon servers, with an ExCache a
# quarter of the RAM: every memtest workload verified on 1 and 2 vCPUs, the control socket,
# a memory server killed mid-run, and the ways remote memory can be misconfigured.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
MMON=$BUILD/asan/bin/lego-mmon
GUEST=$BUILD/images/lego-guest.elf
tap_tmpdir
plan 57

. "$REPO/tests/lib/servers.sh"
PIDS=()
cleanup() {
	server_kill_all
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

fig() { # name: a pager figure from the JSON in $stats
	/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pager"][sys.argv[2]])' \
		"$stats" "$1" 2>/dev/null || echo 0
}

no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}

mmon_start mm1 256M
P1=$MMON_PORT
M1=$MMON_PID
mmon_start mm2 256M
P2=$MMON_PORT
M2=$MMON_PID
ok "[ -n '$P1' ] && [ -n '$P2' ]" "two memory servers listening (ports $P1, $P2)"
REMOTE=(--mmon "127.0.0.1:$P1" --mmon "127.0.0.1:$P2" --region-size 2M "${VMM_CAPS[@]}")

# 16 MiB of guest RAM, 4 MiB ExCache; the tested area is larger than the cache, so pages
# are evicted, written back and fetched again in every workload.
# 5000 zipfian and key-value operations (was 20000) keep every check below by a wide margin
# (the memtest patterns alone fetch and evict thousands of pages) in less test-bed time.
for cpus in 1 2; do
	out=$(timeout 600 "$VMM" --kernel "$GUEST" --mem 16M --cache 4M --cpus $cpus "${REMOTE[@]}" \
		--stats "$TAP_TMP/stats$cpus.json" \
		--append "run=memtest memtest.mode=all memtest.size=4608K memtest.ops=5000" 2>&1 </dev/null)
	rc=$?
	printf '%s\n' "$out" >"$TAP_TMP/all$cpus.log"
	diag "$(grep -E 'RESULT memtest' <<<"$out")"
	is "$rc" 0 "$cpus vCPU(s), RAM 4x the ExCache on 2 servers: exit status 0"
	like "$out" "RESULT memtest PASS .*vcpus=$cpus .*errors=0" "$cpus vCPU(s): every memtest pattern verified"
	like "$out" "RESULT memtest-zipf PASS .*errors=0" "$cpus vCPU(s): zipfian hot set verified"
	like "$out" "RESULT memtest-kv PASS .*errors=0" "$cpus vCPU(s): hash-table key-value verified"
	no_sanitizer_report "$out" "$cpus vCPU(s)"
	stats=$(cat "$TAP_TMP/stats$cpus.json" 2>/dev/null)
	ok "[ $(fig remote_fetches) -gt 0 ] && [ $(fig pages_fetched) -gt 1000 ]" \
		"$cpus vCPU(s): pages fetched from the servers ($(fig pages_fetched) in $(fig remote_fetches) requests)"
	ok "[ $(fig evictions) -gt 1000 ] && [ $(fig writebacks) -gt 1000 ]" \
		"$cpus vCPU(s): evictions ($(fig evictions)) with write-backs ($(fig writebacks))"
	ok "[ $(fig zero_fills) -gt 0 ]" "$cpus vCPU(s): never-written pages zero-filled locally ($(fig zero_fills))"
	ok "[ $(fig resident_pages) -le $(fig cache_pages) ]" \
		"$cpus vCPU(s): resident set $(fig resident_pages) pages within the ExCache ($(fig cache_pages))"
	like "$out" "pager: faults=[1-9].* fault_us p50=[0-9.]+ p99=[0-9.]+ p999=[0-9.]+" \
		"$cpus vCPU(s): statistics with fault latency percentiles printed at exit"
done
# The pager's mode (auto: copy, which measured less CPU per page over tcp): said once at start,
# and the same in the statistics.
MODE=$(sed -n 's/.*pager: .*, \(copy\|zerocopy\) mode$/\1/p' "$TAP_TMP/all1.log" | head -1)
stats=$(cat "$TAP_TMP/stats1.json" 2>/dev/null)
ok "[ -n '$MODE' ] && [ '$(fig mode)' = '$MODE' ]" \
	"the pager's mode chosen by default here: '$MODE' (statistics: '$(fig mode)'; $(grep -o 'pager: copy mode: .*' "$TAP_TMP/all1.log" | head -1))"
# Forcing the other mode: zero copy runs the same workload where the kernel has it, and is
# refused with the reason where it does not (the default chose copy then).
OTHER=$([ "$MODE" = zerocopy ] && echo copy || echo zerocopy)
out=$(timeout 600 "$VMM" --kernel "$GUEST" --mem 16M --cache 4M --cpus 2 "${REMOTE[@]}" \
	--pager-mode "$OTHER" --stats "$TAP_TMP/other.json" \
	--append "run=memtest memtest.mode=all memtest.size=4608K memtest.ops=5000" 2>&1 </dev/null)
rc=$?
printf '%s\n' "$out" >"$TAP_TMP/other.log"
if grep -q "pager: zero-copy mode asked for, but" <<<"$out"; then
	ok "[ $rc -ne 0 ] && [ '$MODE' = copy ]" "--pager-mode $OTHER refused here, with the reason ($(grep -o 'zero-copy mode asked for.*' <<<"$out"))"
	ok "[ $(grep -c 'pager: zero-copy mode asked for' <<<"$out") -eq 1 ]" "--pager-mode $OTHER: one error line"
else
	is "$rc" 0 "--pager-mode $OTHER: exit status 0"
	like "$out" "RESULT memtest PASS .*errors=0.*" "--pager-mode $OTHER: every memtest pattern verified"
fi

# Device emulation faults too: virtio-blk moves data between the disk and guest buffers
# (32 requests of 64 KiB in flight: 2 MiB of buffers through a 1 MiB ExCache), so the VMM's
# own reads and writes of guest memory meet evicted pages and must fault them back.
truncate -s 16M "$TAP_TMP/disk.img"
out=$(timeout 600 "$VMM" --kernel "$GUEST" --mem 16M --cache 1M --cpus 2 "${REMOTE[@]}" \
	--disk "$TAP_TMP/disk.img" --stats "$TAP_TMP/blk.json" \
	--append "run=blktest blktest.size=4M blktest.bs=64K blktest.qd=32" 2>&1 </dev/null)
rc=$?
printf '%s\n' "$out" >"$TAP_TMP/blk.log"
is "$rc" 0 "blktest with guest RAM on the servers and a 1 MiB ExCache: exit status 0"
like "$out" "RESULT blktest PASS .*errors=0" "every block read back intact through evicted and refetched buffers"
stats=$(cat "$TAP_TMP/blk.json" 2>/dev/null)
ok "[ $(fig evictions) -gt 1024 ] && [ $(fig pages_fetched) -gt 512 ]" \
	"the buffers cycled through the ExCache ($(fig evictions) evictions, $(fig pages_fetched) pages fetched)"
no_sanitizer_report "$out" "blktest on remote memory"

# The control socket answers while the guest runs; flush writes every dirty page back. An
# abstract socket (@NAME): the test bed's /tmp may be a 9p share, which cannot hold sockets.
CTL="@lego-test-$$-ctl"
"$VMM" --kernel "$GUEST" --mem 16M --cache 4M "${REMOTE[@]}" --control "$CTL" \
	--append "run=memtest memtest.size=4608K memtest.passes=40" >"$TAP_TMP/ctl.log" 2>&1 </dev/null &
vpid=$!
PIDS+=("$vpid")
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
for _ in $(seq 100); do
	[ -n "$(ask help)" ] && break
	sleep 0.2
done
sleep 2
st=$(ask stats)
like "$st" '"pager": \{"faults": [1-9]' "control socket: stats while running ($st)"
like "$st" '"fault_p99_us": [0-9.]+' "control socket: stats carry fault latency percentiles"
like "$st" "\"mode\": \"$MODE\"" "control socket: stats say which pager mode runs ($MODE)"
fl=$(ask flush)
like "$fl" '"flushed_pages": [0-9]+' "control socket: flush writes dirty pages back ($fl)"
like "$(ask bogus)" '"error": "unknown command' "control socket: an unknown command gets an error"
kill -TERM $vpid
wait $vpid
is "$?" 143 "SIGTERM ends the remote-memory vNode with 128+15"
is "$(ask stats)" "" "the control socket is gone once lego-vmm has exited"
no_sanitizer_report "$(cat "$TAP_TMP/ctl.log")" "control-socket run"

# Both servers held part of the memory, and nothing was refused.
kill -TERM "$M1" "$M2"
wait "$M1"
is "$?" 0 "mm1 shuts down cleanly"
wait "$M2"
is "$?" 0 "mm2 shuts down cleanly"
for m in mm1 mm2; do
	log=$(cat "$TAP_TMP/$m.log")
	like "$log" "served [0-9]+ reads, [1-9][0-9]* writes, refused 0 requests" "$m served page traffic and refused nothing"
	no_sanitizer_report "$log" "$m"
done

# A memory server killed mid-run: lego-vmm stops with an error naming it, promptly.
mmon_start mm1 256M
P1=$MMON_PORT
mmon_start mm2 256M
P2=$MMON_PORT
M2=$MMON_PID
start=$(date +%s)
"$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 16M --cache 4M --mmon "127.0.0.1:$P1" \
	--mmon "127.0.0.1:$P2" --region-size 2M \
	--append "run=memtest memtest.size=4608K memtest.passes=100" \
	>"$TAP_TMP/kill.log" 2>&1 </dev/null &
vpid=$!
PIDS+=("$vpid")
sleep 6
killed=$(date +%s)
{
	kill -9 "$M2"
	wait "$M2"
} 2>/dev/null
wait $vpid
rc=$?
took=$(($(date +%s) - killed))
out=$(cat "$TAP_TMP/kill.log")
is "$rc" 125 "memory server killed mid-run: lego-vmm exits with 125"
like "$out" "error: memory server mm2 \\(127.0.0.1:$P2\\): .*connection lost" "the error names the lost server"
ok "[ $took -le 10 ]" "lego-vmm stopped ${took}s after the kill (no hang)"
unlike "$out" "lego-guest: all passed|RESULT memtest PASS" "the guest did not run on to a result"
no_sanitizer_report "$out" "server-loss run"
diag "server-loss run took $(($(date +%s) - start))s"

# Misconfiguration: clear errors, no guest run.
out=$("$VMM" --kernel "$GUEST" --mem 16M --cache 4M 2>&1)
is "$?" 64 "--cache without --mmon: exit 64"
like "$out" "need --mmon" "... saying --mmon is needed"
out=$("$VMM" --kernel "$GUEST" --mmon nohostport 2>&1)
is "$?" 64 "--mmon without a port: exit 64"
out=$("$VMM" --kernel "$GUEST" --mem 16M --cache 512K --mmon "127.0.0.1:$P1" 2>&1)
is "$?" 64 "an ExCache under 1 MiB: exit 64"
out=$(timeout 60 "$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 16M --mmon "127.0.0.1:$P2" 2>&1)
is "$?" 125 "a memory server that is not there: exit 125"
like "$out" "memory server 127.0.0.1:$P2: cannot connect" "... naming the server it could not reach"
mmon_start small 4M
out=$(timeout 60 "$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 16M --mmon "127.0.0.1:$MMON_PORT" 2>&1)
is "$?" 125 "a pool too small for the vRegions: exit 125"
like "$out" "cannot open vRegion 0 .*pool full" "... saying the pool is full"
# Without a capability the memory server serves no vRegion.
out=$(timeout 60 "$VMM" --kernel "$GUEST" --mem 16M --mmon "127.0.0.1:$P1" 2>&1)
is "$?" 125 "lego-vmm without a capability: exit 125"
like "$out" "capability refused: memory server mm1 requires a capability, and this client has none .*--capability-key FILE" \
	"... saying the server requires one and how to give it"
