#!/usr/bin/env bash
# network.t: lego-controld's virtual networks and lego-pmon's data path on two processor hosts,
# without KVM: the hosts are two network namespaces joined by a veth pair (the physical
# network), each with its lego-pmon; lego-controld and a lego-mmon run on the first. Each
# vNode is tests/lib/netns-vmm, which relays its taps into network namespaces standing in for
# the guests, where busybox udhcpc, ping and a TCP check run. Shown with the real virsh:
# networks kept in the state directory (net-list, net-info, net-dumpxml), interfaces with
# MACs and addresses given and unique (duplicate MAC refused), freed on undefine; the data
# path (bridge, VXLAN with a replication entry per other host, taps, dnsmasq, nftables):
# DHCP answers with the vNode's address, domifaddr and net-dhcp-leases, ping and TCP with
# every byte verified both ways across the hosts, a second network isolated (also through a
# routing host), forged MAC and address dropped; a migration builds the taps on the
# destination and keeps MAC and address; everything removed when the vNodes go; a lego-pmon
# killed and restarted keeps the taps of the vNodes it adopts (back on their rebuilt bridges,
# with their rules) and removes what no running vNode uses. All of it over mutual TLS, as in
# production.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/servers.sh"
tap_tmpdir
plan 71
# Every control port is mutual TLS under a throw-away PKI (tests/lib/pki.sh), and the memory
# server checks capabilities lego-controld signs with its key.
pki_init && pki_issue controld ctl --host 192.168.77.1 && pki_issue mmon mm1 --host 192.168.77.1 &&
	pki_issue pmon pa --host 192.168.77.1 && pki_issue pmon pb --host 192.168.77.2 ||
	echo "Bail out! no PKI"

NA=lgna$$
NB=lgnb$$
DHCP=/tmp/lego-net-$$
PMON_BIN=$BUILD/asan/bin/lego-pmon
VMM=$REPO/tests/lib/netns-vmm
cleanup() {
	server_kill_all
	# the VMMs a killed lego-pmon left (their sessions are their own)
	for p in $(pgrep -f "^/usr/bin/python3 $VMM .*--control $TAP_TMP/" 2>/dev/null); do kill "$p"; done
	sleep 0.3
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^lg-"); do
		# the guests of this test's netns-vmm processes (their pids are gone now)
		pid=${ns##*-}
		kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
	done
	for p in $(pgrep -f "conf-file=$DHCP" 2>/dev/null); do kill "$p"; done
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	[ -n "${LEGO_KEEP_TMP:-}" ] && echo "# kept $TAP_TMP" >&2 && return
	rm -rf "$TAP_TMP" "$DHCP"-*
}
trap cleanup EXIT

wait_for() { # command [tenths]: until it succeeds
	for _ in $(seq "${2:-300}"); do
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}

# ---- two hosts joined by a veth pair -------------------------------------------------------
ip netns add "$NA" && ip netns add "$NB" &&
	ip link add lgva$$ netns "$NA" type veth peer name lgvb$$ netns "$NB" &&
	ip -n "$NA" addr add 192.168.77.1/24 dev lgva$$ && ip -n "$NB" addr add 192.168.77.2/24 dev lgvb$$ &&
	ip -n "$NA" link set lgva$$ mtu 1550 up && ip -n "$NB" link set lgvb$$ mtu 1550 up &&
	ip -n "$NA" link set lo up && ip -n "$NB" link set lo up
ok "[ $? = 0 ]" "two hosts: network namespaces $NA (192.168.77.1) and $NB (192.168.77.2), a veth pair between them"

in_ns() { # namespace binary: a wrapper that runs binary there
	# nsenter, not ip netns exec: the network only (ip netns exec gives a mount namespace of
	# its own, where the guests' namespaces netns-vmm makes would not be seen)
	printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' "$1" "$2" >"$TAP_TMP/$(basename "$2")-$1"
	chmod +x "$TAP_TMP/$(basename "$2")-$1"
	echo "$TAP_TMP/$(basename "$2")-$1"
}

CTL_BIN=$(in_ns "$NA" "$BUILD/asan/bin/lego-controld")
SOCK=$TAP_TMP/libvirt-sock
U="lego+unix:///system?socket=$SOCK"
controld() {
	rm -f "$TAP_TMP/controld.port"
	"$CTL_BIN" --socket "$SOCK" --listen 192.168.77.1:${CPORT:-0} --port-file "$TAP_TMP/controld.port" \
		--state-dir "$TAP_TMP/state" --heartbeat-ms 200 "$@" 2>>"$TAP_TMP/controld.log" &
	CONTROLD_PID=$!
	SERVER_PIDS+=("$CONTROLD_PID")
	wait_for "[ -s $TAP_TMP/controld.port ] && [ -S $SOCK ]"
	CPORT=$(cat "$TAP_TMP/controld.port")
	CONTROLD=192.168.77.1:$CPORT
}
controld --network default=10.77.0.0/16 --network other=10.78.0.0/16
pmon() { # name namespace address
	SERVER_LISTEN=$3:0 server_start "$(in_ns "$2" "$PMON_BIN")" "$1" --controld "$CONTROLD" \
		--cores 8 --memory 2G --vmm "$VMM" --run-dir "$TAP_TMP/run-$1" --dhcp-dir "$DHCP-$1"
}
MMON=$(in_ns "$NA" "$BUILD/asan/bin/lego-mmon") SERVER_LISTEN=192.168.77.1:0 mmon_start mm1 256M --controld "$CONTROLD"
pmon pa "$NA" 192.168.77.1
PA=$SERVER_PID
pmon pb "$NB" 192.168.77.2
PB=$SERVER_PID
LEGOCTL="ip netns exec $NA $BUILD/asan/bin/legoctl -c $CONTROLD"
alive() { $LEGOCTL --json components 2>&1 | grep -o '"alive": true' | wc -l; }
ok "wait_for '[ \$(alive) = 3 ]'" "lego-controld, a memory server and two processor hosts are up"
[ "$TAP_FAILED" = 0 ] || diag "$($LEGOCTL --json components 2>&1)"
ok "wait_for 'grep -q \"processor host pb: VXLAN address 192.168.77.2\" $TAP_TMP/controld.log'" \
	"lego-controld learned each host's VXLAN address (NET_SET's answer)"

# ---- networks and definitions ---------------------------------------------------------------
v() { timeout 60 virsh -q -c "$U" "$@" 2>&1; }
like "$(v net-list --all | tr '\n' ' ')" "default +active +yes +yes +other +active +yes +yes" \
	"virsh net-list --all: both networks, active, autostarted, persistent"
info=$(v net-info default)
like "$info" "Bridge: +lgbr1001" "virsh net-info default: its bridge on every host is lgbr1001"
like "$(v net-dumpxml other)" "<ip address='10.78.0.1' prefix='16'>" \
	"virsh net-dumpxml other: its range, the hosts' address first"

xml() { # name host network [extra <interface> children]
	cat <<EOF
<domain type='lego'><name>$1</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>/bin/true</kernel></os>
<devices><interface type='network'><source network='$3'/><model type='virtio'/>$4</interface></devices>
<metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
<lego:placement processor='$2'/></lego:vnode></metadata></domain>
EOF
}
xml vna pa default >"$TAP_TMP/vna.xml"
xml vnb pb default >"$TAP_TMP/vnb.xml"
xml vnc pb other >"$TAP_TMP/vnc.xml"
for d in vna vnb vnc; do v define "$TAP_TMP/$d.xml" >/dev/null; done
ok "[ \$(v list --all --name | grep -c '^vn[abc]$') = 3 ]" "three vNodes defined, each with an interface"
mac() { v dumpxml "$1" | sed -n "s/.*<mac address='\([^']*\)'.*/\1/p"; }
ipof() { v dumpxml "$1" | sed -n "s/.*<ip address='\([^']*\)'.*/\1/p"; }
MA=$(mac vna)
MB=$(mac vnb)
like "$MA $MB" "^52:54:00(:[0-9a-f]{2}){3} 52:54:00(:[0-9a-f]{2}){3}$" "each interface got a MAC (52:54:00:...)"
is "$(ipof vna) $(ipof vnb) $(ipof vnc)" "10.77.0.2 10.77.0.3 10.78.0.2" \
	"and an address of its network, the lowest free ones"
xml vnd pa default "<mac address='$MA'/>" >"$TAP_TMP/vnd.xml"
out=$(v define "$TAP_TMP/vnd.xml")
like "$out" "MAC address $MA is already used by vNode 'vna'" "a definition with another vNode's MAC is refused"
xml vnd pa default "<ip address='10.77.0.3'/>" >"$TAP_TMP/vnd.xml"
like "$(v define "$TAP_TMP/vnd.xml")" "address 10.77.0.3 is already used in network 'default'" \
	"... and one with another vNode's address"
xml vnd pa nonet >"$TAP_TMP/vnd.xml"
like "$(v define "$TAP_TMP/vnd.xml")" "Network not found: no network with matching name 'nonet'" \
	"... and one on a network lego-controld does not have"
like "$(v domiflist vna)" "network +default +virtio +$MA" "virsh domiflist: type, network, model, MAC"

# ---- the data path --------------------------------------------------------------------------
for d in vna vnb vnc; do v start "$d" >/dev/null; done
ok "[ \$(v list --name | grep -c '^vn[abc]$') = 3 ]" "the three vNodes started (vna on pa, vnb and vnc on pb)"
guest() { # vNode: its guest namespace, once it is ready
	local u8
	u8=$(v domuuid "$1" | tr -d '-' | cut -c1-8)
	wait_for "ip netns list | grep -q '^lg-$u8-0-'" 200 || return 1
	ip netns list | awk '{print $1}' | grep "^lg-$u8-0-" | head -n 1
}
GA=$(guest vna)
GB=$(guest vnb)
GC=$(guest vnc)
ok "[ -n '$GA' ] && [ -n '$GB' ] && [ -n '$GC' ]" "each vNode's guest namespace is up ($GA $GB $GC)"
TA=$(v domiflist vna | awk '{print $1}')
like "$TA" "^lt[0-9]+n0$" "a running vNode's interface shows its tap (target dev $TA)"
ok "ip -n $NA -d link show $TA | grep -q 'master lgbr1001'" "... a tap on the network's bridge on host pa"
ok "ip -n $NA -d link show lgvx1001 | grep -q 'vxlan id 1001 local 192.168.77.1'" \
	"host pa: VXLAN device lgvx1001 (VNI 1001) from its address"
is "$(ip netns exec "$NA" bridge fdb show dev lgvx1001 | grep -c '00:00:00:00:00:00 dst 192.168.77.2')" 1 \
	"... replicating to host pb (bridge fdb append 00:00:00:00:00:00 dst PEER)"
is "$(ip netns exec "$NB" bridge fdb show dev lgvx1002 | grep -c '00:00:00:00:00:00 dst 192.168.77.1')" 1 \
	"host pb: network other's VXLAN device replicates to pa"
ok "! ip -n $NA link show lgbr1002 >/dev/null 2>&1" "a host builds only the networks its vNodes use"
is "$(ip -n "$NA" -o -4 addr show dev lgbr1001 | awk '{print $4}')" 10.77.0.1/16 \
	"the bridge carries the network's first address (where its DHCP server answers)"
ok "ip netns exec $NA nft list table bridge lego_pmon | grep -q 'ether saddr != $MA drop'" \
	"nftables: vna's tap may send only from its MAC"

cat >"$TAP_TMP/udhcpc.sh" <<'EOF'
#!/bin/sh
case $1 in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$subnet" dev "$interface"
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"; echo "bound $ip/$subnet mtu $mtu" ;;
esac
EOF
chmod +x "$TAP_TMP/udhcpc.sh"
dhcp() { ip netns exec "$1" busybox udhcpc -i eth0 -n -q -f -t 10 -T 1 -s "$TAP_TMP/udhcpc.sh" "${@:2}" 2>&1; }
is "$(dhcp "$GA" | grep '^bound')" "bound 10.77.0.2/255.255.0.0 mtu 1500" \
	"DHCP on host pa: vna gets its address, and MTU 1500 (the veth's 1550 less VXLAN's 50)"
is "$(dhcp "$GB" | grep '^bound')" "bound 10.77.0.3/255.255.0.0 mtu 1500" "DHCP on host pb: vnb gets its address"
is "$(dhcp "$GC" | grep '^bound')" "bound 10.78.0.2/255.255.0.0 mtu 1500" "DHCP: vnc gets its address on network other"
like "$(v domifaddr vna)" "$TA +$MA +ipv4 +10.77.0.2/16" "virsh domifaddr vna: the lease (tap, MAC, address)"
leases=$(v net-dhcp-leases default)
like "$leases" "$MA +ipv4 +10.77.0.2/16 +vna" "virsh net-dhcp-leases default: vna's lease (from host pa)"
like "$leases" "$MB +ipv4 +10.77.0.3/16 +vnb" "... and vnb's (from host pb)"

pingc() { ip netns exec "$1" busybox ping -c "${3:-1}" -W 2 "$2" >/dev/null 2>&1; }
ok "pingc $GA 10.77.0.3 3" "ping across the hosts over the VXLAN overlay: vna -> vnb"
cat >"$TAP_TMP/tcpcheck.py" <<'EOF'
import hashlib, os, socket, sys
if sys.argv[1] == "serve":  # echo one connection back
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(1); print("listening", flush=True)
    c, _ = s.accept()
    while True:
        b = c.recv(65536)
        if not b: break
        c.sendall(b)
    c.close()
else:  # send N random bytes, read the echo, compare
    data = os.urandom(int(sys.argv[4])); c = socket.create_connection((sys.argv[2], int(sys.argv[3])), 10)
    c.settimeout(20); got = bytearray(); sent = 0
    while sent < len(data) or len(got) < len(data):
        if sent < len(data):
            sent += c.send(data[sent:sent + 65536])
        while len(got) < sent:
            got += c.recv(65536)
    print("ok" if bytes(got) == data else "corrupt", len(got), hashlib.sha256(got).hexdigest()[:16])
EOF
tcp() { # from-namespace to-namespace to-address
	local out
	ip netns exec "$2" python3 "$TAP_TMP/tcpcheck.py" serve 5001 >"$TAP_TMP/serve.out" 2>&1 &
	wait_for "grep -q listening $TAP_TMP/serve.out" 100
	out=$(ip netns exec "$1" python3 "$TAP_TMP/tcpcheck.py" client "$3" 5001 2000000 2>&1)
	wait
	echo "$out"
}
like "$(tcp "$GA" "$GB" 10.77.0.3)" "^ok 2000000 " "TCP vna -> vnb across the hosts: 2 MB sent and echoed back, every byte verified"
like "$(tcp "$GB" "$GA" 10.77.0.2)" "^ok 2000000 " "TCP vnb -> vna: the same the other way"

# ---- isolation and anti-spoofing -------------------------------------------------------------
ip -n "$GC" route add 10.77.0.0/16 dev eth0
ok "! pingc $GC 10.77.0.3 2" "network other does not reach network default on the same host (vnc -> vnb)"
ip -n "$GC" route del 10.77.0.0/16 dev eth0
ip netns exec "$NB" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
ip -n "$GC" route add default via 10.78.0.1
ok "! pingc $GC 10.77.0.3 2" "... nor through host pb routing between its bridges (ip_forward on)"
ip -n "$GC" route del default
ip netns exec "$NB" sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
ok "! pingc $GC 10.78.0.1 1" "a guest reaches nothing on its host but DHCP (ping of the bridge's address)"
ip -n "$GA" link set eth0 address 52:54:00:de:ad:01
ip -n "$GA" neigh flush dev eth0
ok "! pingc $GA 10.77.0.3 2" "vna with a forged MAC gets nothing through"
ip -n "$GA" link set eth0 address "$MA"
ok "pingc $GA 10.77.0.3 2" "... and with its own MAC back, it does"
ip -n "$GA" addr add 10.77.0.200/16 dev eth0
ok "! ip netns exec $GA busybox ping -c 2 -W 2 -I 10.77.0.200 10.77.0.3 >/dev/null 2>&1" \
	"vna sending from a forged address (10.77.0.200) gets nothing through"
ok "ip netns exec $GA busybox ping -c 1 -W 2 -I 10.77.0.2 10.77.0.3 >/dev/null 2>&1" \
	"... while from its own it does"
ip -n "$GA" addr del 10.77.0.200/16 dev eth0
is "$(dhcp "$GC" -r 10.78.0.9 | grep '^bound')" "bound 10.78.0.2/255.255.0.0 mtu 1500" \
	"DHCP gives a vNode only its own address (asking for 10.78.0.9 gets 10.78.0.2)"

# ---- statistics, migration -----------------------------------------------------------------
like "$(v domifstat vna "$TA")" "$TA rx_bytes [1-9]" "virsh domifstat: the interface's counters from its VMM"
out=$(timeout 60 virsh -c "$U" migrate --live --p2p vnb "lego+tcp://pa/system" 2>&1)
ok "[ $? = 0 ]" "virsh migrate --live --p2p vnb to host pa ${out:+($out)}"
TB=$(v domiflist vnb | awk '{print $1}')
ok "wait_for '! ip -n $NB link show $TB >/dev/null 2>&1'" "the source's tap is gone with its VMM (host pb)"
ok "ip -n $NA -d link show $TB | grep -q 'master lgbr1001'" "the destination (pa) has vnb's tap on its bridge"
is "$(mac vnb) $(ipof vnb)" "$MB 10.77.0.3" "vnb keeps its MAC and address"
like "$(v domifaddr vnb)" " +$MB +ipv4 +10.77.0.3/16" \
	"virsh domifaddr vnb right after the migration: the lease it brought (pa's dnsmasq has none yet)"
GB2=$(ip netns list | awk '{print $1}' | grep "^lg-$(v domuuid vnb | tr -d '-' | cut -c1-8)-0-" | grep -v "^$GB\$" | head -n 1)
is "$(dhcp "$GB2" | grep '^bound')" "bound 10.77.0.3/255.255.0.0 mtu 1500" \
	"DHCP on the destination host answers vnb with the same address"
ok "pingc $GA 10.77.0.3 2" "and vna reaches it there"
ok "ip netns exec $NB nft list table bridge lego_pmon | grep -q 'ether saddr != $(mac vnc) drop' &&
	! ip netns exec $NB nft list table bridge lego_pmon | grep -q '$MB'" \
	"host pb's rules follow: vnb's tap gone, vnc's kept"

# ---- cleanup, restart -----------------------------------------------------------------------
v destroy vnc >/dev/null
ok "wait_for '! ip -n $NB link show lgbr1002 >/dev/null 2>&1'" \
	"the last vNode of network other on pb destroyed: its bridge goes"
ok "wait_for '! ip -n $NB link show lgbr1001 >/dev/null 2>&1 && ! ip -n $NB link show lgvx1001 >/dev/null 2>&1'" \
	"... and host pb, with no vNodes left, keeps no bridge or VXLAN device"
ok "wait_for '! ip netns exec $NB nft list table bridge lego_pmon >/dev/null 2>&1'" "... nor nftables rules"
ok "! pgrep -f 'conf-file=$DHCP-pb' >/dev/null" "... nor DHCP server"
v undefine vnc >/dev/null
xml vne pb other >"$TAP_TMP/vne.xml"
v define "$TAP_TMP/vne.xml" >/dev/null
is "$(ipof vne)" 10.78.0.2 "undefining vnc freed its address: the next definition gets it"
dns=$(pgrep -f "conf-file=$DHCP-pa" | head -n 1)
kill -9 "$PA"
wait "$PA" 2>/dev/null
ok "ip -n $NA link show lgbr1001 >/dev/null 2>&1 && kill -0 $dns" \
	"lego-pmon on pa killed: its bridge and dnsmasq stay behind"
# vnb's VMM ends while no lego-pmon runs on pa: its tap is a leftover; vna's VMM runs on.
vmm_of() { pgrep -f "^/usr/bin/python3 $VMM .*--control $TAP_TMP/run-pa/$(v domuuid "$1")"; }
VB=$(vmm_of vnb)
[ -n "$VB" ] && kill "$VB"
wait_for "! kill -0 ${VB:-1} 2>/dev/null" 100
# Restarted once lego-controld has seen it go (before, the name is still taken).
wait_for "grep -q 'processor host pa is down' $TAP_TMP/controld.log"
pmon pa "$NA" 192.168.77.1
PA=$SERVER_PID
ok "wait_for 'grep -q \"vNode vna: tap $TA kept (network default)\" $TAP_TMP/pa.log'" \
	"the restarted lego-pmon adopts vna and keeps its tap (its run file lists the interface)"
ok "wait_for 'ip -n $NA -d link show $TA 2>/dev/null | grep -q \"master lgbr1001\"'" \
	"... which goes back on the network's bridge, rebuilt once lego-controld lists the network"
is "$(ip netns exec "$NA" bridge fdb show dev lgvx1001 2>/dev/null | grep -c '00:00:00:00:00:00 dst 192.168.77.2')" 1 \
	"... with its VXLAN device replicating to host pb"
ok "! ip -n $NA link show $TB >/dev/null 2>&1 && grep -q 'removed $TB (' $TAP_TMP/pa.log" \
	"vnb's tap (its VMM gone while lego-pmon was down) is removed as a leftover"
ok "wait_for '! kill -0 $dns 2>/dev/null' && pgrep -f 'conf-file=$DHCP-pa' >/dev/null" \
	"the old dnsmasq is stopped, a new one serves the network"
ok "ip netns exec $NA nft list table bridge lego_pmon | grep -q 'ether saddr != $MA drop' &&
	! ip netns exec $NA nft list table bridge lego_pmon | grep -q '$MB'" \
	"nftables: vna's tap keeps its anti-spoofing rules, vnb's are gone"
is "$(dhcp "$GA" | grep '^bound')" "bound 10.77.0.2/255.255.0.0 mtu 1500" \
	"vna's guest, on its kept tap, gets its address from the new dnsmasq"
like "$(v domifaddr vna)" "$TA +$MA +ipv4 +10.77.0.2/16" "virsh domifaddr vna: its lease"
v destroy vna >/dev/null
ok "wait_for '! ip -n $NA link show $TA >/dev/null 2>&1 && ! ip -n $NA link show lgbr1001 >/dev/null 2>&1' &&
	wait_for '! ip netns exec $NA nft list table bridge lego_pmon >/dev/null 2>&1'" \
	"the adopted vna destroyed: its tap, the bridge and the rules go"
kill "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
controld
is "$(v net-info default | grep UUID)" "$(grep UUID <<<"$info")" "lego-controld restarted: its networks come back from the state directory"
is "$(mac vna) $(ipof vna)" "$MA 10.77.0.2" "... and the interfaces' MACs and addresses"
v start vne >/dev/null
GE=$(guest vne)
is "$(dhcp "$GE" | grep '^bound')" "bound 10.78.0.2/255.255.0.0 mtu 1500" "a new vNode on pb gets its address"
kill -TERM "$PB"
wait "$PB" 2>/dev/null
is "$?" 0 "lego-pmon pb stopped with SIGTERM: its vNodes stopped, exit 0"
ok "! ip -n $NB link show lgbr1002 >/dev/null 2>&1 && ! ip netns exec $NB nft list table bridge lego_pmon >/dev/null 2>&1" \
	"... and it removed its network's bridge and rules on the way out"
ok "! pgrep -f 'conf-file=$DHCP-pb' >/dev/null" "... and its DHCP server"
# (lego-controld's restart may cost a component a refused registration: it retries)
ok "! grep -E '\] error: |runtime error|Sanitizer' $TAP_TMP/*.log | grep -v 'cluster: lego-controld .* refused registration'" \
	"no errors, sanitizer reports or leaks in the logs"
[ "$TAP_FAILED" = 0 ] || diag "$(tail -n 30 "$TAP_TMP"/pa.log "$TAP_TMP"/pb.log "$TAP_TMP"/controld.log)"
done_testing
