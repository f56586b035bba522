#!/usr/bin/env bash
# net-device.t: lego-vmm's virtio-net on vhost-net, on one host: a Linux vNode whose RAM is on a lego-mmon behind a smaller ExCache gets its address by DHCP from a test-run dnsmasq on a test-made bridge, moves TCP both ways with every byte verified, migrates to a second lego-vmm on another tap of the bridge while a TCP stream to it runs (the announce seen on the bridge), and a malicious guest's malformed rings leave the NIC needing a reset.
#
# Everything runs in a network namespace the test makes (in the nested test bed, inside L1):
# the bridge lgnbr0 (10.78.0.1/24), a tap per lego-vmm, dnsmasq with a static MAC -> IP
# entry, and lego-netcheck on the bridge as the vNode's peer.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
export LEGO_TESTBED_WITH=${LEGO_TESTBED_WITH:-net}
kvm_require "$0" "$@"

if [ -z "${LEGO_ND_INNER:-}" ]; then
	# The same script again, in a network namespace of its own: it goes away, with every
	# bridge and tap in it, when the last process in it does.
	LEGO_ND_INNER=1 exec unshare --net bash "$0" "$@"
fi

VMM=$BUILD/asan/bin/lego-vmm
ASK=$BUILD/release/bin/vmm_ask
PROBE=$BUILD/release/bin/vhost_uffd_probe
GUEST=$BUILD/images/lego-guest.elf
L=$BUILD/images/linux
NC=$L/bin/lego-netcheck
BR=lgnbr0
HOSTIP=10.78.0.1
VIP=10.78.0.5
MAC=52:54:00:4c:00:05
tap_tmpdir
plan 46

. "$REPO/tests/lib/servers.sh"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	server_kill_all
	rm -rf "$BUILD/test-logs/net-device"
	mkdir -p "$BUILD/test-logs/net-device"
	cp "$TAP_TMP"/*.txt "$TAP_TMP"/*.log "$BUILD/test-logs/net-device/" 2>/dev/null
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
show() { # lines: a TAP comment and on stderr
	diag "$@"
	printf 'net-device.t: %s\n' "$@" >&2
}
no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}
wait_file() { # file regex tenths: until the file shows it
	for _ in $(seq "$3"); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
wait_exit() { # pid tenths: its exit status (killed after the limit)
	for _ in $(seq "$2"); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}
# In the test bed a late TSC-deadline timer stalls an idle guest (linux-guest.t).
APPEND="earlycon=uart8250,io,0x3f8 quiet mitigations=off"
kvm_nested && APPEND="$APPEND lapic=notscdeadline"

# ---- the network: a bridge, a tap per lego-vmm, DHCP, a peer -------------------------------
ip link set lo up
ip link add "$BR" type bridge
ip addr add "$HOSTIP/24" dev "$BR"
ip link set "$BR" up
for t in lgnt0 lgnt1 lgnt2; do
	ip tuntap add dev "$t" mode tap vnet_hdr
	ip link set "$t" master "$BR"
	ip link set "$t" up
done
dnsmasq --keep-in-foreground --conf-file=/dev/null --interface="$BR" --bind-interfaces --port=0 \
	--dhcp-range=10.78.0.100,10.78.0.200,255.255.255.0,1h --dhcp-host="$MAC,$VIP" \
	--dhcp-leasefile="$TAP_TMP/leases" --pid-file="$TAP_TMP/dnsmasq.pid" --log-dhcp \
	--log-facility="$TAP_TMP/dnsmasq.log" &
PIDS+=("$!")
"$NC" server >"$TAP_TMP/peer.log" 2>&1 &
PIDS+=("$!")
ok "ip link show $BR >/dev/null && ip link show lgnt1 >/dev/null" \
	"a bridge and three taps in a network namespace of the test's own"

# ---- 1. vhost-net on memory served by userfaultfd ------------------------------------------
out=$("$PROBE" 2>&1)
is "$?" 0 "vhost_uffd_probe: vhost-net works on userfaultfd-served memory"
for c in tx-missing rx-missing rx-dirty evicted-tx-missing evicted-rx-missing evicted-rx-dirty; do
	like "$out" "RESULT $c PASS .*by vhost-" "... $c: the fault came from vhost's own thread and was served"
done
show "vhost_uffd_probe:" "$(grep RESULT <<<"$out" | sed 's/^/  /')"

# ---- 2. what lego-vmm refuses ------------------------------------------------------------------
out=$("$VMM" --kernel "$GUEST" --mem 16M --net tap=lgnx9 2>&1)
is "$?" 125 "a tap that does not exist: exit 125"
like "$out" "there is no interface lgnx9 .*ip tuntap add" "... naming it, and how to make one"
ok "! ip link show lgnx9 >/dev/null 2>&1" "... and lego-vmm made none"

# ---- 3. a Linux vNode: DHCP, TCP both ways, its RAM behind a smaller ExCache ---------------
mmon_start mm1 512M
MP=$MMON_PORT
SOCK_A=@lego-nd-$$-a
# The servers check capabilities (VMM_CAPS: signed with the test's key); the migration stream
# is TLS between processor hosts' certificates (tests/lib/pki.sh).
pki_issue pmon nd || echo "Bail out! no PKI"
VM_ARGS=(--kernel "$L/vmlinux" --initrd "$L/initramfs.cpio" --mem 256M --cache 48M --cpus 1
	--mmon "127.0.0.1:$MP" --vnode-id 7301 --pki "$PKI_DIR" --pki-name nd "${VMM_CAPS[@]}")
JOBS=echo@$HOSTIP/4M,send@$HOSTIP/16M,recv@$HOSTIP/16M,rr@$HOSTIP,server
"$VMM" "${VM_ARGS[@]}" --net "tap=lgnt0,mac=$MAC,ip=$VIP" --control "$SOCK_A" \
	--console "$TAP_TMP/a-console.txt" \
	--append "$APPEND lego.memcheck=64M lego.netcheck=$JOBS" >"$TAP_TMP/a.log" 2>&1 </dev/null &
A=$!
PIDS+=("$A")
wait_file "$TAP_TMP/a-console.txt" 'netcheck-server: listening|RESULT FAIL' 3000
CON=$(cat "$TAP_TMP/a-console.txt")
like "$CON" "lego-init: net eth0 $VIP/24" "the guest's eth0 got $VIP by DHCP"
like "$(cat "$TAP_TMP/leases" 2>/dev/null)" "$MAC $VIP" "... dnsmasq's lease for its MAC"
like "$CON" "RESULT memcheck PASS" "the guest's memory check passed first (the ExCache churned)"
like "$CON" "RESULT netcheck PASS mode=echo .*errors=0" "guest -> peer: an echo stream, every byte verified"
like "$CON" "RESULT netcheck PASS mode=send .*errors=0" "guest -> peer: 16 MiB, verified by the peer"
like "$CON" "RESULT netcheck PASS mode=recv .*errors=0" "peer -> guest: 16 MiB, verified by the guest"
like "$CON" "RESULT netcheck PASS mode=rr " "round trips"
show "the guest's checks:" "$(grep -E 'lego-init: net|RESULT' <<<"$CON" | sed 's/^/  /')"
out=$("$NC" echo "$VIP" --size 4M 2>&1)
like "$out" "RESULT netcheck PASS mode=echo .*errors=0" "peer -> guest server: an echo stream, verified"
out2=$("$NC" send "$VIP" --size 16M 2>&1)
like "$out2" "RESULT netcheck PASS mode=send .*errors=0" "peer -> guest server: 16 MiB, verified by the guest"
show "the peer's checks against the guest:" "  $out" "  $out2"
stats=$("$ASK" "$SOCK_A" stats 2>/dev/null)
fig() { # key: NIC 0's figure in $stats
	/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["net"][0].get(sys.argv[2], ""))' \
		"$stats" "$1" 2>/dev/null
}
pfig() { # key: a pager figure in $stats
	/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pager"][sys.argv[2]])' \
		"$stats" "$1" 2>/dev/null || echo 0
}
is "$(fig tap) $(fig mac)" "lgnt0 $MAC" "stats: the NIC's tap and MAC"
# The guest received 40 MiB (echoes, recv, the peer's echo and send) and sent 24 MiB.
ok "[ \"$(fig rx_bytes)\" -gt 37748736 ] && [ \"$(fig tx_bytes)\" -gt 20971520 ]" \
	"stats: more than 36 MiB in and 20 MiB out (rx $(fig rx_bytes), tx $(fig tx_bytes) bytes)"
ok "[ \"$(pfig evictions)\" -gt 0 ] && [ \"$(pfig writebacks)\" -gt 0 ] && [ \"$(pfig resident_pages)\" -le \"$(pfig cache_pages)\" ]" \
	"the ExCache evicted ($(pfig evictions)) and wrote back ($(pfig writebacks)) pages meanwhile, resident $(pfig resident_pages) <= $(pfig cache_pages)"
unlike "$(cat "$TAP_TMP/a.log")" "needs reset|vhost-net refused" "no ring was refused: vhost's faults were served"

# ---- 4. live migration to a lego-vmm on another tap, a stream running ------------------------
SOCK_B=@lego-nd-$$-b
"$VMM" "${VM_ARGS[@]}" --net "tap=lgnt1,mac=$MAC,ip=$VIP" --control "$SOCK_B" \
	--console "$TAP_TMP/b-console.txt" --incoming 127.0.0.1:0 >"$TAP_TMP/b.log" 2>&1 </dev/null &
B=$!
PIDS+=("$B")
"$ASK" --field phase --until listening --timeout-ms 120000 "$SOCK_B" migration >/dev/null 2>&1
LISTEN=$("$ASK" --field listen "$SOCK_B" migration 2>/dev/null)
# The bridge's side: every RARP and gratuitous ARP from the vNode's MAC while it moves.
/usr/bin/python3 - "$BR" "$MAC" 40 >"$TAP_TMP/announce.txt" 2>&1 <<'PY' &
import socket, sys, time
br, mac, secs = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((br, 0))
s.settimeout(0.5)
rarp = garp = 0
end = time.time() + secs
print("listening", flush=True)
while time.time() < end:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    if f[6:12] != mac:
        continue
    if f[12:14] == b'\x80\x35':
        rarp += 1
    elif f[12:14] == b'\x08\x06' and f[28:32] == f[38:42]:
        garp += 1
    print("rarp=%d garp=%d" % (rarp, garp), flush=True)
PY
SNIFF=$!
PIDS+=("$SNIFF")
wait_file "$TAP_TMP/announce.txt" listening 100
"$NC" echo "$VIP" --seconds 30 --rate 256 >"$TAP_TMP/stream.txt" 2>&1 &
STREAM=$!
PIDS+=("$STREAM")
sleep 5
mig=$("$ASK" "$SOCK_A" "migrate $LISTEN" 2>&1)
like "$mig" '"migration": "started"' "migrate A -> B (listening on $LISTEN) while the stream runs"
wait_exit "$A" 1800
is "$?" 126 "the source lego-vmm hands the vNode over (exit 126)"
ph=$("$ASK" --field phase "$SOCK_B" migration 2>/dev/null)
is "$ph" running "the destination runs it"
wait "$STREAM"
is "$?" 0 "the stream carried on without reconnecting"
stream=$(cat "$TAP_TMP/stream.txt")
like "$stream" "RESULT netcheck PASS mode=echo .*errors=0" "... and every byte of it arrived intact"
gap=$(sed -n 's/.*max_gap_ms=\([0-9.]*\).*/\1/p' <<<"$stream")
down=$(grep -o 'downtime [0-9.]* ms' "$TAP_TMP/b.log" | grep -o '[0-9.]*')
show "migration: the peer's longest gap in the stream ${gap} ms; the migration's downtime ${down} ms" \
	"  $(grep -o 'migration: the vNode runs here.*' "$TAP_TMP/b.log")"
wait_file "$TAP_TMP/announce.txt" 'rarp=[5-9].* garp=[5-9]' 50
last=$(tail -n 1 "$TAP_TMP/announce.txt")
like "$last" "rarp=([5-9]|[1-9][0-9]+) garp=([5-9]|[1-9][0-9]+)" \
	"the bridge saw the announce: RARP and gratuitous ARP from the vNode's MAC, 5 rounds ($last)"
like "$(bridge fdb show br "$BR" 2>/dev/null | grep -i "$MAC")" "dev lgnt1" \
	"the bridge learned the vNode's MAC on the destination's tap"
like "$(cat "$TAP_TMP/b.log")" "announced 1 NIC\\(s\\): 5 round" "the destination announced its NIC"
out=$("$NC" recv "$VIP" --size 16M 2>&1)
like "$out" "RESULT netcheck PASS mode=recv .*errors=0" "after the migration: 16 MiB from the guest, verified"
stats=$("$ASK" "$SOCK_B" stats 2>/dev/null)
is "$(fig tap)" lgnt1 "the destination's stats name its own tap"
out=$("$NC" quit "$VIP" 2>&1)
like "$out" "RESULT netcheck PASS mode=quit" "the guest's server told to stop"
wait_exit "$B" 1200
is "$?" 0 "the vNode ends on the destination with the guest's verdict, 0"
CON=$(cat "$TAP_TMP/b-console.txt")
like "$CON" "RESULT netcheck-server PASS conns=[1-9]" "the guest's server saw every byte it was sent as expected"
like "$CON" "lego-init: RESULT PASS" "the guest's result line"
is "$(grep -c 'Linux version' <<<"$CON")" 1 "the destination's console holds the whole run, once"
logs=$(cat "$TAP_TMP/a.log" "$TAP_TMP/b.log")
no_sanitizer_report "$logs" "the migrating lego-vmm processes"
kill "$SNIFF" 2>/dev/null

# ---- 5. a malicious guest's rings: DEVICE_NEEDS_RESET, nothing outside its RAM touched -----
head -c 16M /dev/urandom >"$TAP_TMP/disk.img"
out=$(timeout 300 "$VMM" --kernel "$GUEST" --mem 64M --cpus 2 --disk "$TAP_TMP/disk.img" \
	--net tap=lgnt2 --append "run=evil evil.peer=$HOSTIP evil.ip=10.78.0.99" 2>&1 </dev/null)
is "$?" 0 "the evil guest: lego-vmm survives and exits with the guest's status"
printf '%s\n' "$out" >"$TAP_TMP/evil.log"
like "$out" "RESULT evil PASS" "every malformed case got the reaction it should"
cases=$(grep -c '^evil: net-.*: ok' <<<"$out")
ok "[ $cases -ge 19 ]" "at least 19 NIC cases, rx and tx ($cases)"
like "$out" "warn: virtio-net@.*vhost-net refused the tx ring: .*device needs reset" \
	"lego-vmm logged each ring vhost-net refused, with the reason"
like "$out" "vhost-net refused the rx ring: chain at head 0: descriptor 0 is device-readable" \
	"... a receive ring's too"
no_sanitizer_report "$out" "the evil guest's lego-vmm"
show "the whole test took $SECONDS s$(kvm_nested && echo " in L1, after L1's boot")"
done_testing
