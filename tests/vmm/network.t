#!/usr/bin/env bash
# network.t: Linux vNodes on lego-controld's virtual network across two processor hosts (in
# the nested test bed: two network namespaces in L1 joined by a veth pair, lego-pmon on each,
# lego-controld and a lego-mmon on the first), everything through the real virsh. Two vNodes
# get their addresses by DHCP (domifaddr, net-dhcp-leases show them) and exchange TCP both
# ways with every byte verified (lego-netcheck in the guests); one migrates (virsh migrate
# --live --p2p) while the other streams to it: the stream goes on without reconnecting, every
# byte intact, and the peer's longest gap is reported with the migration's downtime; a
# duplicate MAC is refused. Isolation and forgery: tests/vmm/network-isolation.t.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
export LEGO_TESTBED_WITH=${LEGO_TESTBED_WITH:-net}
kvm_require "$0" "$@"
. "$REPO/tests/lib/nethosts.sh"
nethosts_reexec "$0" "$@"
tap_tmpdir
plan 25

. "$REPO/tests/lib/servers.sh"
cleanup() {
	nv list --name 2>/dev/null | while read -r d; do [ -n "$d" ] && nv destroy "$d" >/dev/null; done
	server_kill_all
	rm -rf "$BUILD/test-logs/network"
	mkdir -p "$BUILD/test-logs/network"
	cp "$TAP_TMP"/*.log "$TAP_TMP"/*.txt "$BUILD/test-logs/network/" 2>/dev/null
	# each host's lego-vmm consoles and logs (a migrated vNode has both, under one uuid)
	for f in "$TAP_TMP"/run-p?/*.console "$TAP_TMP"/run-p?/*.log; do
		h=${f%/*}
		cp "$f" "$BUILD/test-logs/network/${h##*/run-}-${f##*/}" 2>/dev/null
	done
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
show() { # lines: a TAP comment and on stderr
	diag "$@"
	printf 'network.t: %s\n' "$@" >&2
}
# lego.idle: a vNode stays up after its checks (its console goes with it), until destroyed
APPEND="earlycon=uart8250,io,0x3f8 quiet mitigations=off lego.memcheck=0 lego.idle=1800"
kvm_nested && APPEND="$APPEND lapic=notscdeadline"

ok "nethosts_setup" "two hosts: network namespaces joined by a veth pair (MTU 1550)"
ok "nethosts_cluster --network default=10.77.0.0/16 --network other=10.78.0.0/16" \
	"lego-controld with networks default and other, a memory server, lego-pmon pa and pb"

# ---- two vNodes on two hosts: DHCP, TCP both ways ---------------------------------------------
VA=10.77.0.2
linux_xml vna pa default "$APPEND lego.netcheck=server" 256 128 >"$TAP_TMP/vna.xml"
JOBS="echo@$VA/4M,send@$VA/4M,recv@$VA/4M,rr@$VA,echo@$VA/64M+150"
linux_xml vnb pb default "$APPEND lego.netrate=256 lego.netcheck=$JOBS" 256 128 >"$TAP_TMP/vnb.xml"
nv define "$TAP_TMP/vna.xml" >/dev/null
nv define "$TAP_TMP/vnb.xml" >/dev/null
MA=$(nv dumpxml vna | sed -n "s/.*<mac address='\([^']*\)'.*/\1/p")
like "$(nv dumpxml vnb)" "<ip address='10.77.0.3' prefix='16'/>" "vna and vnb defined: 10.77.0.2 and .3"
sed "s/<name>vna</<name>dup</; s|<source network='default'/>|<source network='default'/><mac address='$MA'/>|" \
	"$TAP_TMP/vna.xml" >"$TAP_TMP/dup.xml"
like "$(nv define "$TAP_TMP/dup.xml")" "MAC address $MA is already used by vNode 'vna'" \
	"a definition with vna's MAC is refused with a libvirt error"
out=$(nv start vna)
ok "[ $? = 0 ]" "virsh start vna (on pa) ${out:+($out)}"
ok "wait_console vna 'lego-init: net eth0|RESULT FAIL' 6000" "vna booted"
like "$(cat "$(console_of vna)")" "lego-init: net eth0 $VA/16" "vna got $VA by DHCP on host pa"
nv start vnb >/dev/null
ok "wait_console vnb 'lego-init: net eth0|RESULT FAIL' 6000" "vnb booted on pb"
like "$(cat "$(console_of vnb)")" "lego-init: net eth0 10.77.0.3/16" "vnb got 10.77.0.3 by DHCP on host pb"
like "$(nv domifaddr vna)" "lt[0-9]+n0 +$MA +ipv4 +$VA/16" "virsh domifaddr vna: its lease"
like "$(nv net-dhcp-leases default | tr '\n' ' ')" "ipv4 +10.77.0.2/16 .*ipv4 +10.77.0.3/16|ipv4 +10.77.0.3/16 .*ipv4 +10.77.0.2/16" \
	"virsh net-dhcp-leases default: both leases, one from each host"
ok "wait_console vnb 'mode=rr |RESULT FAIL' 6000" "vnb's first checks ran"
# vnb's 150 s echo stream to vna starts now: vna migrates at once (on a loaded machine
# seeing the rr line may take a while), in the background while the checks are reported.
timeout 900 virsh -c "$U" migrate --live --p2p vna "lego+tcp://pb/system" >"$TAP_TMP/migrate.txt" 2>&1 &
MIG=$!
CBF=$(console_of vnb) # vnb stays on pb
CB=$(cat "$CBF")
like "$CB" "RESULT netcheck PASS mode=echo .*errors=0" "vnb -> vna across the hosts: an echo stream, every byte verified both ways"
like "$CB" "RESULT netcheck PASS mode=send .*errors=0" "vnb -> vna: 4 MiB verified by vna"
like "$CB" "RESULT netcheck PASS mode=recv .*errors=0" "vna -> vnb: 4 MiB verified by vnb"
like "$CB" "RESULT netcheck PASS mode=rr " "round trips across the hosts"
show "vnb's checks:" "$(grep -E 'lego-init: net|RESULT netcheck' <<<"$CB" | sed 's/^/  /')"

# ---- a migration with a stream running --------------------------------------------------------
wait "$MIG"
rc=$?
out=$(cat "$TAP_TMP/migrate.txt")
ok "[ $rc = 0 ]" "virsh migrate --live --p2p vna to pb while vnb streams to it ${out:+($out)}"
like "$($LEGOCTL vnode vna 2>&1)" "pb" "vna runs on pb now"
like "$(nv dumpxml vna)" "<mac address='$MA'/>" "... with its MAC"
stream_done() { # vnb's second echo result (the stream's), or a failure
	[ "$(grep -cE 'RESULT netcheck .*mode=echo .*max_gap' "$CBF")" -ge 2 ] || grep -q 'RESULT FAIL' "$CBF"
}
end=$((SECONDS + 600))
while ! stream_done && [ "$SECONDS" -lt "$end" ]; do sleep 1; done
ok "stream_done" "vnb's stream ended"
stream=$(grep 'mode=echo' "$CBF" | tail -n 1)
like "$stream" "RESULT netcheck PASS mode=echo .*errors=0" \
	"the stream carried on across the migration without reconnecting, every byte intact"
gap=$(sed -n 's/.*max_gap_ms=\([0-9.]*\).*/\1/p' <<<"$stream")
down=$(grep -o 'vna.*downtime [0-9.]* ms' "$TAP_TMP/controld.log" | grep -o 'downtime [0-9.]*' | tail -n 1)
show "migration: the peer's longest gap in the stream ${gap:-?} ms; the migration's ${down:-downtime ?} ms"
like "$(nv domifaddr vna)" "$MA +ipv4 +$VA/16" "vna keeps its address after the migration"
out=$(nv domifstat vna "$(nv domiflist vna | awk '{print $1}')")
like "$out" "rx_bytes [1-9]" "virsh domifstat vna: its counters on the new host"

# ---- the end ------------------------------------------------------------------------------
for d in vna vnb; do nv destroy "$d" >/dev/null 2>&1; done
ok "! ip link show lgbr1001 >/dev/null 2>&1 && ! in_b ip link show lgbr1001 >/dev/null 2>&1" \
	"every vNode gone: no bridge left on either host"
ok "! grep -E 'runtime error|Sanitizer' $TAP_TMP/*.log $TAP_TMP/run-p?/*.log" "no sanitizer report"
show "the whole test took $SECONDS s$(kvm_nested && echo " in L1, after L1's boot")"
done_testing
