#!/usr/bin/env bash
# storage.t: vNode disks on storage servers: guest blktest through lego-smon (file backend)
# in sequential and random order with 1 and 16 requests in flight; lego-smon killed -9 and
# restarted twice during a blktest (every block written before the completed flush reads
# back intact); a storage server gone for longer than --smon-timeout (the guest sees I/O
# errors, lego-vmm neither hangs nor crashes); and a blktest on a Ceph RADOS volume through
# a throw-away Ceph cluster.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
CTL=$BUILD/asan/bin/legoctl
GUEST=$BUILD/images/lego-guest.elf
tap_tmpdir
plan 28

. "$REPO/tests/lib/servers.sh"
PIDS=()
CEPH_DIR=
cleanup() {
	server_kill_all
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "$CEPH_DIR" ] && "$REPO/tests/lib/ceph-cluster" stop "$CEPH_DIR" >/dev/null 2>&1
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}

boot() { # name disk args...: runs lego-vmm to the end, sets OUT and RC
	local name=$1 disk=$2
	shift 2
	OUT=$(timeout 600 "$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 32M --disk "$disk" "$@" \
		2>&1 </dev/null)
	RC=$?
	printf '%s\n' "$OUT" >"$TAP_TMP/$name.log"
}

vols=$TAP_TMP/vols
smon_start st1 --dir "$vols"
SP=$SMON_PORT
ok "[ -n '$SP' ]" "a storage server (file backend) listening on $SP"
"$CTL" --smon "127.0.0.1:$SP" volume create vm1 64M >/dev/null
DISK=smon://127.0.0.1:$SP/vm1

boot seq "$DISK" --append "run=blktest blktest.size=4M blktest.bs=64K blktest.seed=3"
is "$RC" 0 "blktest on a storage-server volume: exit status 0"
like "$OUT" "RESULT blktest PASS bytes=4194304 bs=65536 qd=4 order=seq .*errors=0 .*id=lego-vm1" \
	"sequential 64 KiB blocks, 4 in flight, read back intact; GET_ID names the volume"
boot rand "$DISK" --append "run=blktest blktest.size=2M blktest.bs=4K blktest.qd=16 blktest.order=rand blktest.seed=4"
is "$RC" 0 "random 4 KiB blocks, 16 in flight: exit status 0"
like "$OUT" "RESULT blktest PASS bytes=2097152 bs=4096 qd=16 order=rand .*errors=0" \
	"random order, queue depth 16: every block read back intact"
no_sanitizer_report "$OUT" "random qd16"
ok "[ \$(du -k '$vols/vm1' | cut -f1) -ge 4096 ]" "the guest's data is in the volume's file on the server"
# Without a capability the storage server serves no disk: lego-vmm stops before the guest.
OUT=$(timeout 120 "$VMM" --kernel "$GUEST" --mem 32M --disk "$DISK" 2>&1 </dev/null)
RC=$?
ok "[ $RC -ne 0 ] && grep -q 'requires a capability' <<<\"\$OUT\"" \
	"lego-vmm without a capability: exit $RC, the storage server requires one"
like "$(cat "$TAP_TMP/st1.log")" "READ request [0-9]+ refused|STAT request [0-9]+ refused: no valid capability|capability" \
	"... and lego-smon logged the refusal"

# kill -9 during the run, twice; the server comes back on the same port after a second.
"$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 32M --disk "$DISK" --console "$TAP_TMP/kill.console" \
	--append "run=blktest blktest.size=24M blktest.bs=4K blktest.qd=4 blktest.order=rand blktest.seed=5" \
	>"$TAP_TMP/kill.log" 2>&1 </dev/null &
vpid=$!
PIDS+=("$vpid")
for _ in $(seq 600); do
	grep -q "blktest: virtio-blk" "$TAP_TMP/kill.console" 2>/dev/null && break
	sleep 0.1
done
kills=0
for delay in 1 4; do
	sleep "$delay"
	kill -0 "$vpid" 2>/dev/null || break
	kill -9 "$SMON_PID"
	wait "$SMON_PID" 2>/dev/null
	kills=$((kills + 1))
	sleep 1
	SERVER_LISTEN=127.0.0.1:$SP smon_start st1 --dir "$vols"
done
wait "$vpid"
rc=$?
out=$(cat "$TAP_TMP/kill.console" "$TAP_TMP/kill.log")
is "$kills/$rc" "2/0" "lego-smon killed -9 twice during blktest: the guest finished, status 0"
like "$out" "RESULT blktest PASS bytes=25165824 .*errors=0" \
	"every block acknowledged before the completed flush read back intact"
like "$out" "storage server 127.0.0.1:$SP: .*retrying requests" "the outage is logged"
like "$out" "storage server 127.0.0.1:$SP: reachable again after [0-9]+ ms" "and the recovery"
no_sanitizer_report "$out" "smon restarts"

# Gone for good: after --smon-timeout the guest gets I/O errors, and lego-vmm ends cleanly.
"$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 32M --disk "$DISK" --smon-timeout 1500 \
	--console "$TAP_TMP/gone.console" \
	--append "run=blktest blktest.size=24M blktest.bs=4K blktest.qd=4 blktest.seed=6" \
	>"$TAP_TMP/gone.log" 2>&1 </dev/null &
vpid=$!
PIDS+=("$vpid")
for _ in $(seq 600); do
	grep -q "blktest: virtio-blk" "$TAP_TMP/gone.console" 2>/dev/null && break
	sleep 0.1
done
sleep 1
kill -9 "$SMON_PID"
wait "$SMON_PID" 2>/dev/null
t0=$SECONDS
wait "$vpid"
rc=$?
out=$(cat "$TAP_TMP/gone.console" "$TAP_TMP/gone.log")
is "$rc" 1 "storage server gone beyond --smon-timeout: the guest fails its test (status 1)"
like "$out" "blktest: giving up after 64 I/O errors" "the guest saw I/O errors, not silent corruption"
like "$out" "RESULT blktest FAIL" "and reports its test failed"
like "$out" "unreachable for over 1500 ms: .* fails with an I/O error" "lego-vmm says why"
ok "[ $((SECONDS - t0)) -lt 30 ]" "and does not hang ($((SECONDS - t0)) s after the kill)"
no_sanitizer_report "$out" "smon gone"

# Ceph RADOS: a volume striped over 64 KiB objects, so requests cross object boundaries.
CEPH_DIR=$TAP_TMP/ceph
if conf=$("$REPO/tests/lib/ceph-cluster" start "$CEPH_DIR" 2>"$TAP_TMP/ceph-start.log"); then
	ok true "a throw-away Ceph cluster started"
else
	ok false "a throw-away Ceph cluster started"
	diag "$(tail -n 5 "$TAP_TMP/ceph-start.log")"
fi
smon_start st-rados --rados lego --ceph-conf "$conf" --object-size 64K
RP=$SMON_PORT
ok "[ -n '$RP' ]" "lego-smon on the RADOS pool listening ($RP)"
"$CTL" --smon "127.0.0.1:$RP" volume create rvm 16M >/dev/null
boot rados-rand "smon://127.0.0.1:$RP/rvm" \
	--append "run=blktest blktest.size=2M blktest.bs=12K blktest.qd=8 blktest.order=rand blktest.seed=7"
is "$RC" 0 "blktest on a RADOS volume: exit status 0"
like "$OUT" "RESULT blktest PASS bytes=2097152 bs=12288 qd=8 order=rand .*errors=0 .*id=lego-rvm" \
	"RADOS: random 12 KiB blocks (crossing 64 KiB objects), 8 in flight, read back intact"
boot rados-seq "smon://127.0.0.1:$RP/rvm" --append "run=blktest blktest.size=4M blktest.bs=1M blktest.qd=2 blktest.seed=8"
like "$OUT" "RESULT blktest PASS bytes=4194304 bs=1048576 qd=2 order=seq .*errors=0" \
	"RADOS: sequential 1 MiB blocks read back intact"
no_sanitizer_report "$OUT" "RADOS"
objs=$(rados -c "$conf" -p lego ls 2>/dev/null | grep -c '^lego\.rvm\.')
ok "[ ${objs:-0} -ge 64 ]" "the data is in RADOS objects lego.rvm.* ($objs objects)"
kill -TERM "$SMON_PID"
wait "$SMON_PID"
is "$?" 0 "lego-smon (RADOS) shuts down cleanly"
