#!/usr/bin/env bash
# rdma.t: lego on real verbs: Soft-RoCE (rxe0 on a dummy netdev) in the test bed, every server
# and lego-vmm on LEGO_FABRIC_PROVIDER=verbs. A vNode with RAM 4x its ExCache on 2 memory
# servers (every memtest workload verified) and a blktest on a lego-smon volume; a replicated
# vNode live-migrated to another lego-vmm, then one of its memory servers killed -9, finishing
# verified. The pagers' stats count only one-sided RMA page reads, and the memory servers log
# that they served no READ message.
. "$(dirname "$0")/../lib/tap.sh"
export LEGO_TESTBED_WITH=${LEGO_TESTBED_WITH:-rdma}
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
GUEST=$BUILD/images/lego-guest.elf
ASK=$BUILD/release/bin/vmm_ask
tap_tmpdir
plan 23

. "$REPO/tests/lib/softroce.sh"
if ! softroce_up; then
	echo "Bail out! Soft-RoCE: $SOFTROCE_ERR"
	exit 255
fi
export LEGO_FABRIC_PROVIDER=verbs
SERVER_LISTEN=$SOFTROCE_ADDR:0
A=$SOFTROCE_ADDR
. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/pki.sh"
pki_issue pmon mig || echo "Bail out! no PKI"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	server_kill_all
	tap_keep_logs rdma
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}
pfig() { # stats-file name: a pager figure from lego-vmm's --stats JSON
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pager"][sys.argv[2]])' \
		"$1" "$2" 2>/dev/null || echo -1
}
ask() { "$ASK" "@$1" "$2" 2>/dev/null; }
askf() { "$ASK" --field "$3" "@$1" "$2" 2>/dev/null; }
wait_exit() { # pid [tenths]: its exit status (killed after the limit)
	for _ in $(seq "${2:-3000}"); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}

mmon_start mm1 256M
P1=$MMON_PORT
mmon_start mm2 256M
P2=$MMON_PORT
M2=$MMON_PID
vols=$TAP_TMP/vols
mkdir -p "$vols"
smon_start st1 --dir "$vols"
SP=$SMON_PORT
"$BUILD/release/bin/legoctl" --smon "$A:$SP" volume create rvol 16M >/dev/null
ok "[ -n '$P1' ] && [ -n '$P2' ] && [ -n '$SP' ] && [ -f '$vols/rvol' ]" \
	"on verbs over rxe0 ($A): two memory servers and a storage server with a volume"
like "$(cat "$TAP_TMP/mm1.log")" "provider verbs, RMA reads on each connection's own registrations" \
	"the memory server offers one-sided RMA reads on verbs"

# 1. Remote memory: 16 MiB of RAM, a 4 MiB ExCache, vRegions on both servers; then blktest
# on the lego-smon volume, whose requests go over verbs too.
out=$(timeout 600 "$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 16M --cache 4M \
	--mmon "$A:$P1" --mmon "$A:$P2" --region-size 2M --disk "smon://$A:$SP/rvol" \
	--stats "$TAP_TMP/rm.json" \
	--append "run=memtest,blktest memtest.mode=all memtest.size=4608K memtest.ops=5000 blktest.size=1M blktest.qd=8" \
	2>&1 </dev/null)
rc=$?
printf '%s\n' "$out" >"$TAP_TMP/rm.log"
is "$rc" 0 "RAM 4x the ExCache on 2 memory servers over verbs, blktest on lego-smon: exit 0"
like "$out" "RESULT memtest PASS .*errors=0" "every memtest pattern verified"
like "$out" "RESULT memtest-zipf PASS .*errors=0" "zipfian hot set verified"
like "$out" "RESULT memtest-kv PASS .*errors=0" "hash-table key-value verified"
like "$out" "RESULT blktest PASS .*errors=0" "blktest on the lego-smon volume over verbs: every block intact"
like "$out" "memory server mm1 \\($A:$P1\\): connected \\([0-9]+ channels, page reads by RMA\\)" \
	"lego-vmm reads pages by RMA"
rma=$(pfig "$TAP_TMP/rm.json" reads_rma)
ok "[ $rma -gt 100 ] && [ $(pfig "$TAP_TMP/rm.json" reads_msg) = 0 ]" \
	"stats: $rma page reads by one-sided RMA, none by message (reads_msg $(pfig "$TAP_TMP/rm.json" reads_msg))"
ok "[ $(pfig "$TAP_TMP/rm.json" writebacks) -gt 1000 ]" "write-backs went to the servers ($(pfig "$TAP_TMP/rm.json" writebacks))"
no_sanitizer_report "$out" "remote memory on verbs"

# 2. A replicated vNode (every vRegion on both servers) live-migrated to a second lego-vmm,
# then mm2 killed -9: it runs on from mm1 and finishes verified.
TLS=(--pki "$PKI_DIR" --pki-name mig)
VN=(--mem 32M --cpus 1 --mmon "$A:$P1" --mmon "$A:$P2" --replicas 2 --region-size 4M
	--cache 8M --vnode-id 4343 "${TLS[@]}" "${VMM_CAPS[@]}")
SSOCK=lego-rdma-$$-src
DSOCK=lego-rdma-$$-dst
"$VMM" --kernel "$GUEST" "${VN[@]}" --control "@$SSOCK" --console "$TAP_TMP/src.console" \
	--append "run=memtest memtest.size=8M memtest.passes=1 memtest.seconds=25" \
	>"$TAP_TMP/src.log" 2>&1 </dev/null &
SPID=$!
PIDS+=("$SPID")
"$BUILD/release/bin/lego-vmm" "${VN[@]}" --incoming 127.0.0.1:0 --control "@$DSOCK" \
	--console "$TAP_TMP/dst.console" --stats "$TAP_TMP/dst.json" >"$TAP_TMP/dst.log" 2>&1 </dev/null &
DPID=$!
PIDS+=("$DPID")
for _ in $(seq 600); do
	[ "$(askf "$SSOCK" stats console_bytes)" -gt 80 ] 2>/dev/null && break
	sleep 0.1
done
"$ASK" --field phase --until listening --timeout-ms 60000 "@$DSOCK" migration >/dev/null
listen=$(askf "$DSOCK" migration listen)
is "$(ask "$SSOCK" "migrate $listen")" '{"migration": "started"}' "live migration to the second lego-vmm starts"
wait_exit "$SPID" 1200
is "$?" 126 "the source ends as migrated away (126)"
"$ASK" --field phase --until running --timeout-ms 60000 "@$DSOCK" migration >/dev/null
is "$(askf "$DSOCK" migration phase)" running "the destination runs the vNode"
kill -9 "$M2"
wait "$M2" 2>/dev/null
wait_exit "$DPID" 3000
is "$?" 0 "mm2 killed -9 after the migration: the replicated vNode runs on to exit 0"
final=$(cat "$TAP_TMP/dst.console")
like "$final" "RESULT memtest PASS .*errors=0" "memtest verified across the migration and the server's loss"
like "$(cat "$TAP_TMP/dst.log")" "memory server mm2 \\($A:$P2\\) lost" "the loss of mm2 is logged"
ok "[ $(pfig "$TAP_TMP/dst.json" reads_rma) -gt 0 ] && [ $(pfig "$TAP_TMP/dst.json" reads_msg) = 0 ]" \
	"the destination's page reads: $(pfig "$TAP_TMP/dst.json" reads_rma) by RMA, $(pfig "$TAP_TMP/dst.json" reads_msg) by message"
no_sanitizer_report "$(cat "$TAP_TMP/src.log")" "migration source"

# 3. The surviving servers: no READ message ever served, nothing refused.
kill -TERM "${SERVER_PIDS[0]}" "$SMON_PID"
for p in "${SERVER_PIDS[0]}" "$SMON_PID"; do
	wait "$p"
done
log=$(cat "$TAP_TMP/mm1.log")
like "$log" "mm1: served 0 reads, [1-9][0-9]* writes, refused 0 requests" \
	"mm1 served no READ message (page reads were one-sided), only write-backs"
no_sanitizer_report "$log" "mm1"
like "$(cat "$TAP_TMP/st1.log")" "serving volumes in .* on $A:$SP \\(provider verbs\\)" \
	"the storage server served the volume on verbs"
no_sanitizer_report "$(cat "$TAP_TMP/st1.log")" "st1"
