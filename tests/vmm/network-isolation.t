#!/usr/bin/env bash
# network-isolation.t: what a vNode on lego-controld's virtual networks cannot do (in the
# nested test bed, as tests/vmm/network.t: two network namespaces in L1 joined by a veth pair,
# lego-pmon on each, lego-controld and a lego-mmon on the first; the real virsh). A vNode on
# a second network reaches nothing of the first, even trying the address on its own link; a
# vNode that forges its MAC, or its IP address, gets nothing through (lego-pmon's nftables
# bridge rules), while with its own it reaches the server; the hosts are clean afterwards.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
export LEGO_TESTBED_WITH=${LEGO_TESTBED_WITH:-net}
kvm_require "$0" "$@"
. "$REPO/tests/lib/nethosts.sh"
nethosts_reexec "$0" "$@"
tap_tmpdir
plan 16

. "$REPO/tests/lib/servers.sh"
cleanup() {
	nv list --name 2>/dev/null | while read -r d; do [ -n "$d" ] && nv destroy "$d" >/dev/null; done
	server_kill_all
	rm -rf "$BUILD/test-logs/network-isolation"
	mkdir -p "$BUILD/test-logs/network-isolation"
	cp "$TAP_TMP"/*.log "$TAP_TMP"/*.txt "$BUILD/test-logs/network-isolation/" 2>/dev/null
	# each host's lego-vmm consoles and logs (a migrated vNode has both, under one uuid)
	for f in "$TAP_TMP"/run-p?/*.console "$TAP_TMP"/run-p?/*.log; do
		h=${f%/*}
		cp "$f" "$BUILD/test-logs/network-isolation/${h##*/run-}-${f##*/}" 2>/dev/null
	done
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
show() { # lines: a TAP comment and on stderr
	diag "$@"
	printf 'network-isolation.t: %s\n' "$@" >&2
}
# lego.idle: a vNode stays up after its checks (its console goes with it), until destroyed
APPEND="earlycon=uart8250,io,0x3f8 quiet mitigations=off lego.memcheck=0 lego.idle=1800"
kvm_nested && APPEND="$APPEND lapic=notscdeadline"

ok "nethosts_setup" "two hosts: network namespaces joined by a veth pair (MTU 1550)"
ok "nethosts_cluster --network default=10.77.0.0/16 --network other=10.78.0.0/16" \
	"lego-controld with networks default and other, a memory server, lego-pmon pa and pb"

# ---- the server: vna on host pb, network default ---------------------------------------------
VA=10.77.0.2
linux_xml vna pb default "$APPEND lego.netcheck=server" 128 >"$TAP_TMP/vna.xml"
nv define "$TAP_TMP/vna.xml" >/dev/null
out=$(nv start vna)
ok "[ $? = 0 ]" "virsh start vna (on pb) ${out:+($out)}"
ok "wait_console vna 'lego-init: net eth0|RESULT FAIL' 6000" "vna booted"
like "$(cat "$(console_of vna)")" "lego-init: net eth0 $VA/16" "vna got $VA by DHCP on host pb"

# ---- isolation, forged MAC and address ------------------------------------------------------
# Checks that expect nothing through give up after 15 s (lego.netwait), not a minute.
linux_xml vnc pa other "$APPEND lego.netwait=15 lego.onlink=1 lego.netcheck=echo@$VA/1M" 128 >"$TAP_TMP/vnc.xml"
nv define "$TAP_TMP/vnc.xml" >/dev/null
nv start vnc >/dev/null
ok "wait_console vnc 'lego-init: RESULT' 6000" "vnc (network other, pa) ran its check"
CC=$(cat "$(console_of vnc)")
like "$CC" "lego-init: net eth0 10.78.0.2/16" "vnc got its address on network other"
like "$CC" "RESULT netcheck FAIL mode=echo .*error=connect" \
	"vnc cannot reach vna on network default (tried on its own link)"
JOBS="echo@$VA/1M,forgemac=52:54:00:de:ad:01,echo@$VA/1M"
linux_xml vnf pa default "$APPEND lego.netwait=15 lego.netcheck=$JOBS" 128 >"$TAP_TMP/vnf.xml"
JOBS="forgeip=10.77.0.250,echo@$VA/1M"
linux_xml vng pa default "$APPEND lego.netwait=15 lego.netcheck=$JOBS" 128 >"$TAP_TMP/vng.xml"
nv define "$TAP_TMP/vnf.xml" >/dev/null
nv define "$TAP_TMP/vng.xml" >/dev/null
nv start vnf >/dev/null
ok "wait_console vnf 'lego-init: RESULT' 6000" "vnf ran its checks"
CF=$(cat "$(console_of vnf)")
like "$CF" "RESULT netcheck PASS mode=echo" "vnf reaches vna with its own MAC"
like "$(grep -A100 'forgemac' <<<"$CF")" "RESULT netcheck FAIL mode=echo" \
	"... and gets nothing through once it sends from a forged MAC"
nv start vng >/dev/null
ok "wait_console vng 'lego-init: RESULT' 6000" "vng ran its check"
like "$(cat "$(console_of vng)")" "RESULT netcheck FAIL mode=echo" \
	"vng sending from a forged address (10.77.0.250) gets nothing through"
ok "nft list table bridge lego_pmon | grep -q 'ether saddr != $(nv dumpxml vnf | sed -n "s/.*<mac address='\([^']*\)'.*/\1/p") drop'" \
	"host pa's rules let vnf's tap send only from its own MAC"

# ---- the end ------------------------------------------------------------------------------
for d in vna vnc vnf vng; do nv destroy "$d" >/dev/null 2>&1; done
ok "! ip link show lgbr1001 >/dev/null 2>&1 && ! in_b ip link show lgbr1001 >/dev/null 2>&1" \
	"every vNode gone: no bridge left on either host"
ok "! grep -E 'runtime error|Sanitizer' $TAP_TMP/*.log $TAP_TMP/run-p?/*.log" "no sanitizer report"
show "the whole test took $SECONDS s$(kvm_nested && echo " in L1, after L1's boot")"
done_testing
