#!/usr/bin/env bash
# mempool.t: a memory pool that changes under running guests, through lego-controld, virsh
# and legoctl, with real lego-vmm and the freestanding guest: a vNode with replication 2
# runs memtest (every pattern written, then verified, for memtest.seconds) while a drain
# moves every copy off one memory server onto one that joined mid-run (the drained one ends
# empty) and another server is killed -9 (the vNode runs on, the factor is restored); the
# memtest finishes with zero errors. A drain the others have no room for is refused. (A
# lost server stopping a vNode with one copy, naming it: tests/vmm/remote-memory.t with
# lego-vmm alone, tests/host/mempool-ctl.t through lego-controld.) The control plane's
# logic in depth, without KVM, is tests/host/mempool-ctl.t (under ASan+UBSan, as is the
# same remote-memory code in tests/host/replication.t); here every program is the release
# build, which is several times faster under the test bed's emulation.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
GUEST=$BUILD/images/lego-guest.elf
REL=$BUILD/release/bin
CTL=$REL/legoctl
CONTROLD_BIN=$REL/lego-controld
PMON_BIN=$REL/lego-pmon
MMON=$REL/lego-mmon
tap_tmpdir
plan 20

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
keep() {
	for f in "$CLUSTER_RUN"/pmon-*/*.log "$CLUSTER_RUN"/pmon-*/*.console; do
		[ -f "$f" ] && cp "$f" "$TAP_TMP/vnode-$(basename "$f").txt"
	done
}
trap 'keep; pkill -9 -f "lego-vmm.*$CLUSTER_RUN" 2>/dev/null; cluster_cleanup; tap_keep_logs mempool; rm -rf "$TAP_TMP"' EXIT

ctl() { "$CTL" -c "$CONTROLD" "$@" 2>&1; }
copies() { # NAME: each vRegion's copies, primary first: "mm-a+mm-b mm-b+mm-a ..."
	"$CTL" -c "$CONTROLD" vnode "$1" | awk '$1 ~ /^[0-9]+$/ && $3 ~ /^0x/ { printf "%s%s", n++ ? " " : "", $2 } END { print "" }'
}
wait_for() { # command regex seconds: until the command's output matches
	local out end=$((SECONDS + $3)) t0=$SECONDS
	while :; do
		out=$(eval "$1" 2>&1)
		if grep -Eq -- "$2" <<<"$out"; then
			diag "($((SECONDS - t0)) s)"
			return 0
		fi
		[ $SECONDS -ge $end ] && break
		sleep 0.5
	done
	diag "waited $3 s for /$2/ in: $(tail -n 3 <<<"$out")"
	return 1
}
console_of() { cat "$CLUSTER_RUN"/pmon-*/"$1".console 2>/dev/null; }
domxml() { # name MiB cmdline metadata
	cat <<EOF
<domain type='lego'><name>$1</name>
  <memory unit='MiB'>$2</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>$GUEST</kernel><cmdline>$3</cmdline></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>4</lego:excache>$4</lego:vnode></metadata>
</domain>
EOF
}

controld_start --region-size 4M --mmon-loss-ms 1500
pmon_start host-a --cores 2 --memory 256M --vmm "$REL/lego-vmm"
cluster_mmon mm-a 64M
cluster_mmon mm-b 64M
PB=$MMON_PID
ok "wait_alive 3" "a processor host and two memory servers registered"

# rep: 16 MiB (4 vRegions of 4 MiB), two copies each, a 4 MiB ExCache under a 5 MiB zipfian
# memtest (every page written, then rounds of verified reads and versioned rewrites of a hot
# set, its colder pages evicted, written back and fetched again, then every page verified).
domxml rep 16 "run=memtest memtest.mode=zipf memtest.size=5M memtest.ops=4000 memtest.seconds=${LEGO_MEMPOOL_SECONDS:-150} idle=10" \
	"<lego:replication factor='2'/>" >"$TAP_TMP/rep.xml"
lvirsh define "$TAP_TMP/rep.xml" >/dev/null
like "$(lvirsh start rep 2>&1)" "Domain 'rep' started" "virsh start rep (replication factor 2)"
U_REP=$(lvirsh domuuid rep | head -n 1)
ok "wait_for 'console_of $U_REP' 'memtest-zipf: \\[' 120" "rep's guest runs its memtest"
c=$(copies rep)
like "$c" "^((mm-a\\+mm-b|mm-b\\+mm-a) ){3}(mm-a\\+mm-b|mm-b\\+mm-a)$" \
	"every vRegion of rep has a copy on mm-a and one on mm-b ($c)"
like "$(ctl mmon drain mm-a)" "cannot drain memory server mm-a: .*no other memory server with room that holds no copy" \
	"drain of mm-a while only mm-b (holding every other copy) remains: refused, saying why"

# A server joins mid-run; mm-a is drained into it while the guest verifies its memory.
cluster_mmon mm-c 64M
ok "wait_alive 4" "mm-c joins mid-run"
t0=$SECONDS
out=$(ctl mmon drain mm-a)
diag "drain: $((SECONDS - t0)) s"
like "$out" "^memory server mm-a drained: 4 vRegion copies \\(16\\.0 MiB\\) moved in [0-9.]+ s \\([0-9.]+ MiB/s\\); it now reports 0\\.0 MiB in use" \
	"legoctl mmon drain mm-a: 4 copies moved while the guest ran, mm-a ends empty"
unlike "$(console_of "$U_REP")" "RESULT memtest-zipf" "... and the memtest was still running when it ended"
c=$(copies rep)
like "$c" "^((mm-b\\+mm-c|mm-c\\+mm-b) ){3}(mm-b\\+mm-c|mm-c\\+mm-b)$" "rep's copies are now on mm-b and mm-c ($c)"

# mm-b is killed: rep runs on mm-c's copies, and the factor comes back on mm-a (undrained).
like "$(ctl mmon undrain mm-a)" "mm-a is no longer draining" "legoctl mmon undrain mm-a: it takes vRegions again"
t0=$SECONDS
kill -9 "$PB"
wait "$PB" 2>/dev/null
ok "wait_for 'copies rep' '^((mm-a\\+mm-c|mm-c\\+mm-a) ){3}(mm-a\\+mm-c|mm-c\\+mm-a)\$' 120" \
	"mm-b killed -9: re-replication restored two copies of every vRegion (on mm-c and mm-a)"
diag "kill to the factor restored: $((SECONDS - t0)) s"
like "$(ctl vnode rep | head -n 1)" "running" "rep kept running"
unlike "$(console_of "$U_REP")" "RESULT memtest-zipf" "... its memtest still going when the factor was back"
like "$(ctl pool)" "re-replication: every vRegion has its copies" "legoctl pool: nothing left to re-replicate"

# rep's memtest ends on its own: every pattern verified across the drain and the loss. The
# guest idles 10 s after its verdict, so that its console (whose file goes one heartbeat
# after the vNode ends) is read whole: a RESULT line can be caught half written.
ok "wait_for 'console_of $U_REP' 'lego-guest: idle for' 600" "rep's memtest finished"
con=$(console_of "$U_REP")
like "$con" "RESULT memtest-zipf PASS .*errors=0" "memtest PASS, zero verification errors"
unlike "$con" "mismatch at" "... and no mismatch was ever reported"
diag "$(grep 'RESULT memtest-zipf' <<<"$con")"
wait_for "cat '$CLUSTER_RUN'/pmon-host-a/$U_REP.log" 'pager: faults=' 60 >/dev/null
vlog=$(cat "$CLUSTER_RUN"/pmon-host-a/"$U_REP".log)
like "$vlog" "memory server mm-b \\(127\\.0\\.0\\.1:[0-9]+\\) lost" "lego-vmm logged mm-b's loss"
like "$vlog" "pager: faults=[1-9][0-9]* .*writebacks=[1-9]" "its pager fetched and wrote back all along"
diag "$(grep 'pager: faults=' <<<"$vlog")"
unlike "$(cat "$CLUSTER_RUN"/pmon-host-a/*.log "$TAP_TMP"/*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" \
	"no sanitizer report"
done_testing
