#!/usr/bin/env bash
# security.t: the control channels as an attacker on the same network (or host) meets them,
# without KVM: lego-controld, two lego-pmon processor hosts running a fake lego-vmm, a
# lego-mmon and a lego-smon, all under mutual TLS with a throw-away CA. Each attack is refused
# with a clear error and a log line, and the victim vNode runs on unaffected:
#   - rogue REGISTERs of each kind: no certificate, plaintext, a certificate of another kind
#     or of another name;
#   - QUERY, a pool job, a migration with a component's certificate; VM_START/VM_STOP/VM_CTL
#     on a lego-pmon with a component's certificate, with none, in plaintext;
#   - virsh over TLS without a client certificate, with one not on the allow-list, with a
#     component's, with one of another CA (and with the right one: it works);
#   - the read-only socket: anyone lists, nobody destroys or defines; the read-only flag of
#     CONNECT_OPEN on the read-write socket too;
#   - a second lego-controld on the same state directory, or on the same socket;
#   - exhaustion: idle connections to the cluster port, a lego-pmon and the libvirt TLS port
#     from one address and from many; half-sent 32 MiB libvirt packets from a local user;
#     throw-away registrations (one stolen certificate; 260 certificates against a table of
#     256); a lego-pmon out of file descriptors: a legitimate client is served throughout,
#     and the daemons' RSS stays bounded (the figures are printed).
# (Plaintext and wrongly certified migration streams: tests/vmm/migration.t, which needs KVM.)
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
PROBE=$BUILD/asan/bin/cluster_probe
tap_tmpdir
plan 105

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
# The daemons' RSS is measured: ASan's quarantine of freed memory (256 MiB by default) would
# count as theirs.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
ATTACKERS=()
cleanup() {
	for p in "${ATTACKERS[@]}"; do kill -9 "$p" 2>/dev/null; done
	cluster_cleanup
	tap_keep_logs security
	rm -rf "$TAP_TMP" "$ATTACK_DIR"
}
trap cleanup EXIT

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
wait_for() { # command regex [seconds]
	local out
	for _ in $(seq $((${3:-20} * 10))); do
		out=$(eval "$1" 2>&1)
		grep -Eq -- "$2" <<<"$out" && return 0
		sleep 0.1
	done
	diag "waited for /$2/ in: $(tail -n 3 <<<"$out")"
	return 1
}
flat() { tr '\n' ' ' <<<"$1"; } # a command's output on one line, for like
logged() { # file regex: the log has a line matching it (within 10 s)
	wait_for "cat '$1'" "$2" 10
}

# A fake lego-vmm: lego-vmm's options, a console, a control socket with stats; runs until
# signalled.
FAKE=$TAP_TMP/fake-vmm
cat >"$FAKE" <<'PY'
#!/usr/bin/python3
import os, signal, socket, sys, threading, time
args, opts, i = sys.argv[1:], {}, 0
while i + 1 < len(args):
    if args[i].startswith("--"):
        opts[args[i][2:]] = args[i + 1]
    i += 1
with open(opts["console"], "w") as f:
    f.write("fake guest %s: running\n" % opts.get("vnode-id", "-"))
srv = socket.socket(socket.AF_UNIX)
srv.bind(opts["control"])
srv.listen(8)
def serve():
    while True:
        c, _ = srv.accept()
        cmd = c.makefile().readline().strip()
        ans = '{"vnode": %s, "state": "running"}' % opts.get("vnode-id", 0) if cmd == "stats" \
            else '{"error": "unknown command"}'
        c.sendall((ans + "\n").encode())
        c.close()
threading.Thread(target=serve, daemon=True).start()
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(1)
PY
chmod +x "$FAKE"

# The attacker's tools, in Python: floods of connections and malicious clients. Some run as
# user nobody (a local user): its files in a directory anyone may use.
ATTACK_DIR=$(mktemp -d /tmp/lego-attack.XXXXXX)
chmod 1777 "$ATTACK_DIR"
ATTACK=$ATTACK_DIR/attack.py
AS=() # the attacker's user: root, unless set
cat >"$ATTACK" <<'PY'
import os, socket, ssl, struct, sys, time
def tls(pki, cert):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.load_verify_locations(pki + "/ca.pem")
    c.load_cert_chain("%s/%s.pem" % (pki, cert), "%s/%s-key.pem" % (pki, cert))
    return c
def reg(kind, name):
    p = struct.pack('<IIQ', kind, 1 if kind == 1 else 0, 1 << 30) + name.ljust(64, b'\0') + \
        b"127.0.0.1:1".ljust(128, b'\0')
    return struct.pack('<IHHQIIQ', 0x4347454c, 1, 1, 7, 0, len(p), 0) + p
def status(s):
    d = s.recv(4096)
    return struct.unpack('<I', d[16:20])[0] if len(d) >= 32 else -1
cmd, ready = sys.argv[1], sys.argv[2]
held = []
if cmd == "idle":  # ready port n hold addr...: n idle TCP connections from the addresses
    port, n, hold, addrs = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6:]
    for i in range(n):
        s = socket.socket()
        s.bind((addrs[i % len(addrs)], 0))
        try:
            s.connect(("127.0.0.1", port))
            held.append(s)
        except OSError:
            pass
elif cmd == "halfsent":  # ready unix-path n mib hold: n 32 MiB packets, mib MiB of each sent
    path, n, mib, hold = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    for i in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.settimeout(5)
        try:
            s.sendall(struct.pack('>I', 32 << 20) + bytes(mib << 20))
            held.append(s)
        except OSError:
            pass  # refused: closed on us
elif cmd == "register":  # ready port pki cert kind name...: one REGISTER per name
    port, pki, cert, kind = int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
    ctx, counts = tls(pki, cert), {}
    for name in sys.argv[7:]:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 10))
        s.sendall(reg(kind, name.encode()))
        st = status(s)
        counts[st] = counts.get(st, 0) + 1
        s.close()
    print(" ".join("%d:%d" % kv for kv in sorted(counts.items())))
elif cmd == "register-each":  # ready port pki first count: mmon tNNN with its own cert
    port, pki, first, count = int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    counts = {}
    for i in range(first, first + count):
        s = tls(pki, "mmon-t%03d" % i).wrap_socket(
            socket.create_connection(("127.0.0.1", port), 10))
        s.sendall(reg(2, b"t%03d" % i))
        st = status(s)
        counts[st] = counts.get(st, 0) + 1
        s.close()
    print(" ".join("%d:%d" % kv for kv in sorted(counts.items())))
open(ready, "w").write("%d\n" % len(held))
if held:
    time.sleep(hold)
PY
attack() { # name args...: an attacker in the background; waits until it holds what it opened
	local name=$1
	shift
	rm -f "$ATTACK_DIR/$name.ready"
	${AS[@]+"${AS[@]}"} /usr/bin/python3 "$ATTACK" "$1" "$ATTACK_DIR/$name.ready" "${@:2}" \
		>"$ATTACK_DIR/$name.out" 2>&1 &
	ATTACKERS+=($!)
	for _ in $(seq 600); do [ -s "$ATTACK_DIR/$name.ready" ] && return 0; sleep 0.1; done
	return 1
}

# ---- secure by default: no PKI, no start (unless --insecure, which says so loudly) ------------
NOPKI=$TAP_TMP/no-pki
out=$(LEGO_PKI=$NOPKI "$BUILD/asan/bin/lego-controld" --socket "$TAP_TMP/s0" --state-dir "$TAP_TMP/st0" \
	--listen 127.0.0.1:0 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*cannot read the cluster CA $NOPKI/ca.pem.*--insecure" \
	"lego-controld without a PKI: exit 1, naming the missing file and --insecure"
out=$(LEGO_PKI=$NOPKI "$BUILD/asan/bin/lego-pmon" --controld 127.0.0.1:1 --name x --run-dir "$TAP_TMP/r0" 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*cannot read the cluster CA" "lego-pmon without a PKI: exit 1"
out=$(LEGO_PKI=$NOPKI "$BUILD/asan/bin/lego-mmon" --listen 127.0.0.1:0 --pool 16M --name x \
	--controld 127.0.0.1:1 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*cannot load capability public key $NOPKI/capability-pub.pem" \
	"lego-mmon without a PKI: exit 1, naming the first missing file (the capability key)"
out=$(LEGO_PKI=$NOPKI "$BUILD/asan/bin/lego-mmon" --listen 127.0.0.1:0 --pool 16M --name x \
	--insecure-no-capabilities --controld 127.0.0.1:1 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*cannot join the cluster: cannot read the cluster CA" \
	"lego-mmon joining a cluster without a PKI (capabilities off): exit 1, no CA"
out=$(LEGO_PKI=$NOPKI "$CTL" -c 127.0.0.1:1 components 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/legoctl: cannot read the cluster CA" "legoctl without a PKI: exit 1"
LEGO_PKI=$NOPKI "$BUILD/asan/bin/lego-controld" --insecure --insecure-no-capabilities \
	--socket "$TAP_TMP/s0" --state-dir "$TAP_TMP/st0" --listen 127.0.0.1:0 \
	2>"$TAP_TMP/insecure.log" &
ipid=$!
ok "logged '$TAP_TMP/insecure.log' 'warn: WARNING: INSECURE: lego-controld runs with --insecure: the cluster port has no TLS'" \
	"lego-controld --insecure starts, with a loud warning"
ok "logged '$TAP_TMP/insecure.log' 'warn: WARNING: lego-controld runs with --insecure-no-capabilities'" \
	"... and --insecure-no-capabilities with another"
ok "logged '$TAP_TMP/insecure.log' 'info: libvirt remote protocol on' && kill $ipid" \
	"... and it runs without a PKI"
wait "$ipid" 2>/dev/null

# ---- the cluster, and the victim vNode -----------------------------------------------------
TLS_PORT=$(free_port)
controld_start --libvirt-tls "127.0.0.1:$TLS_PORT" --libvirt-allow operator --libvirt-allow 'ops-*' \
	--max-components 256
CPID=$CONTROLD_PID
chmod 755 "$CLUSTER_RUN" # local users reach the read-only socket (the other is 0600)
pmon_start h1 --cores 2 --memory 512M --vmm "$FAKE"
H1=127.0.0.1:$SERVER_PORT H1_PID=$PMON_PID
pmon_start h2 --cores 2 --memory 512M --vmm "$FAKE"
cluster_mmon m1 256M
cluster_smon s1 "$TAP_TMP/vols"
ok "wait_alive 4" "lego-controld with two processor hosts, a memory and a storage server, all over mutual TLS"
pki_issue pmon rogue && pki_issue mmon rogue && pki_issue smon rogue && pki_issue admin bob &&
	pki_virsh "$TAP_TMP/v-good" && pki_virsh "$TAP_TMP/v-bob" bob
cat >"$TAP_TMP/vn1.xml" <<EOF
<domain type='lego'><name>vn1</name><uuid>11111111-2222-4333-8444-555555555555</uuid>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/srv/guest.elf</kernel></os>
</domain>
EOF
U1=11111111-2222-4333-8444-555555555555
vsh() { timeout 20 virsh -c "$LIBVIRT_URI" "$@" 2>&1; }
vsh define "$TAP_TMP/vn1.xml" >/dev/null
like "$(vsh start vn1)" "Domain 'vn1' started" "the victim vNode vn1 starts"
ok "wait_for '$CTL -c $CONTROLD vnode vn1 | head -n 1' 'running, id [0-9]+ on h[12]'" "... and runs"
VHOST=$("$CTL" -c "$CONTROLD" vnode vn1 | sed -n '1s/.* on \(h[12]\).*/\1/p')
VADDR=$H1
[ "$VHOST" = h2 ] && VADDR=127.0.0.1:$(cat "$TAP_TMP/h2.port")
victim_ok() { # the vNode runs where it ran, and its lego-vmm answers through its lego-pmon
	"$CTL" -c "$CONTROLD" vnode vn1 | head -n 1 | grep -q "running, id [0-9]* on $VHOST" &&
		"$PROBE" ctl "$VADDR" "$U1" stats | grep -q '"state": "running"'
}
components() { "$CTL" -c "$CONTROLD" components; }
who_where() { components | awk '{ print $1, $2, $3, $4 }' | sort; } # kind, name, address, state
BEFORE=$(who_where)

# ---- rogue REGISTER of each kind ---------------------------------------------------------------
for kind in pmon mmon smon; do
	case $kind in pmon) victim=h1 other=mmon:m1 ;; mmon) victim=m1 other=pmon:h1 ;; smon) victim=s1 other=mmon:m1 ;; esac
	out=$("$PROBE" --no-cert register "$CONTROLD" $kind "$victim" 127.0.0.1:1 2>&1)
	rc=$?; like "$rc/$(flat "$out")" "^99/cluster_probe: " "REGISTER as $kind $victim without a certificate: refused in the TLS handshake"
	out=$("$PROBE" --insecure register "$CONTROLD" $kind "$victim" 127.0.0.1:1 2>&1)
	is "$?" 99 "REGISTER as $kind $victim in plaintext: refused (connection closed)"
	out=$("$PROBE" --as "$other" register "$CONTROLD" $kind "$victim" 127.0.0.1:1 2>&1)
	rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: registration refused: the certificate presented grants ${other%%:*} '${other#*:}', not $kind '$victim'" \
		"REGISTER as $kind $victim with a ${other%%:*} certificate: permission denied, saying why"
	out=$("$PROBE" --as "$kind:rogue" register "$CONTROLD" $kind "$victim" 127.0.0.1:1 2>&1)
	rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: .*grants $kind 'rogue', not $kind '$victim'" \
		"REGISTER as $kind $victim with another $kind's certificate: permission denied"
done
log=$(cat "$TAP_TMP/controld.log")
like "$log" "warn: cluster port: refused 127\\.0\\.0\\.1:[0-9]+: the peer presented no certificate" \
	"lego-controld logs the connection without a certificate"
like "$log" "warn: cluster port: refused 127\\.0\\.0\\.1:[0-9]+: the peer does not speak TLS" \
	"... the plaintext one"
like "$log" "warn: cluster: refused the registration of h1 from pmon 'rogue' at 127\\.0\\.0\\.1:[0-9]+: the certificate presented grants pmon 'rogue', not pmon 'h1'" \
	"... and each refused registration, with who tried"
is "$(who_where)" "$BEFORE" "every component is as it was (addresses, state): nothing rogue registered"
ok victim_ok "the victim vNode runs on, answering"

# ---- what only operators (admin or lego-controld certificates) may ask --------------------------
out=$("$PROBE" --as pmon:rogue query "$CONTROLD" components 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: QUERY needs an admin or lego-controld certificate; yours grants pmon 'rogue'" \
	"QUERY with a processor host's certificate: permission denied (vNode maps name their servers and ids)"
out=$("$PROBE" --as mmon:m1 pool-job "$CONTROLD" drain m1 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: POOL_JOB needs an admin" "a pool job (drain) with a memory server's certificate: permission denied"
out=$("$PROBE" --as pmon:h2 migrate "$CONTROLD" vn1 h2 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: MIGRATE needs an admin" "MIGRATE with a processor host's certificate: permission denied"
out=$("$PROBE" --as smon:s1 pool-job "$CONTROLD" rebalance 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied" "a rebalance with a storage server's certificate: permission denied"
out=$("$CTL" --admin bob -c "$CONTROLD" components 2>&1)
like "$out" "pmon +h1" "an admin's certificate may (legoctl --admin bob components)"
like "$(cat "$TAP_TMP/controld.log")" "warn: cluster: refused POOL_JOB from mmon 'm1' at 127\\.0\\.0\\.1:[0-9]+: it needs an admin or lego-controld certificate" \
	"lego-controld logs each refused request with who asked"
ok "! '$CTL' -c '$CONTROLD' pool | grep -q draining" "no memory server was drained"
ok victim_ok "vn1 runs where it ran: not migrated"

# ---- a lego-pmon: VM_* only from lego-controld or an admin ---------------------------------------
U9=99999999-0000-4000-8000-000000000009
out=$("$PROBE" --as pmon:h2 start "$VADDR" $U9 evil 9 99 1 16M --kernel /etc/passwd 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: VM_START needs an admin or lego-controld certificate; yours grants pmon 'h2'" \
	"VM_START on a processor host with another host's certificate: permission denied"
out=$("$PROBE" --as mmon:m1 stop "$VADDR" "$U1" force 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: VM_STOP needs" "VM_STOP of the victim with a memory server's certificate: permission denied"
out=$("$PROBE" --as smon:s1 ctl "$VADDR" "$U1" stats 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: VM_CTL needs" "VM_CTL stats (which tells the vNode's id) with a storage server's certificate: permission denied"
out=$("$PROBE" --as pmon:h2 console-in "$VADDR" "$U1" "$(printf 'reboot -f\r')" 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^9/error permission denied: VM_CONSOLE_IN needs" "VM_CONSOLE_IN (typing into the victim's console) with another host's certificate: permission denied"
out=$("$PROBE" --no-cert stop "$VADDR" "$U1" force 2>&1)
is "$?" 99 "VM_STOP without a certificate: refused in the TLS handshake"
out=$("$PROBE" --insecure stop "$VADDR" "$U1" force 2>&1)
is "$?" 99 "VM_STOP in plaintext: refused"
plog=$(cat "$TAP_TMP/$VHOST.log")
like "$plog" "warn: pmon 'h2' at 127\\.0\\.0\\.1:[0-9]+: VM_START request [0-9]+ refused: permission denied" \
	"the lego-pmon logs each refused request with who asked"
like "$plog" "warn: vNode requests: refused 127\\.0\\.0\\.1:[0-9]+: the peer (presented no certificate|does not speak TLS)" \
	"... and the connections refused in the handshake"
ok "! grep -q 'started vNode evil' '$TAP_TMP/$VHOST.log'" "no lego-vmm was started for the intruder"
ok victim_ok "the victim vNode runs on"

# ---- virsh over TLS ---------------------------------------------------------------------------------
tls_uri() { echo "lego+tls://127.0.0.1:$TLS_PORT/system?pkipath=$1"; }
like "$(timeout 20 virsh -c "$(tls_uri "$TAP_TMP/v-good")" list --all 2>&1)" "vn1 +running" \
	"virsh over TLS with the operator's certificate (on the allow-list): works"
out=$(timeout 20 virsh -c "$(tls_uri "$TAP_TMP/v-bob")" list --all 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*server verification \\(of our certificate or IP address\\) failed" \
	"... with an admin certificate not on the allow-list: refused, as libvirtd refuses"
mkdir -p "$TAP_TMP/v-none" "$TAP_TMP/v-pmon" "$TAP_TMP/v-other"
cp "$TAP_TMP/v-good/cacert.pem" "$TAP_TMP/v-none/"
cp "$TAP_TMP/v-good/cacert.pem" "$TAP_TMP/v-pmon/"
cp "$LEGO_PKI/pmon-rogue.pem" "$TAP_TMP/v-pmon/clientcert.pem"
cp "$LEGO_PKI/pmon-rogue-key.pem" "$TAP_TMP/v-pmon/clientkey.pem"
out=$(timeout 20 virsh -c "$(tls_uri "$TAP_TMP/v-none")" list --all 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*(TLS|certificate)" "... without a client certificate: refused"
out=$(timeout 20 virsh -c "$(tls_uri "$TAP_TMP/v-pmon")" list --all 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*server verification" "... with a processor host's certificate: refused"
"$BUILD/asan/bin/legoctl" pki init "$TAP_TMP/other-ca" >/dev/null &&
	"$BUILD/asan/bin/legoctl" pki libvirt-client "$TAP_TMP/other-ca" operator "$TAP_TMP/v-other" >/dev/null
cp "$TAP_TMP/v-good/cacert.pem" "$TAP_TMP/v-other/"
out=$(timeout 20 virsh -c "$(tls_uri "$TAP_TMP/v-other")" list --all 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/" "... with an admin certificate of another CA: refused"
log=$(cat "$TAP_TMP/controld.log")
like "$log" "warn: libvirt: refused TLS client admin 'bob' at 127\\.0\\.0\\.1:[0-9]+: an admin certificate on the allow-list" \
	"lego-controld logs the client not on the allow-list"
like "$log" "warn: libvirt: refused TLS client pmon 'rogue'" "... the processor host's certificate"
like "$log" "warn: libvirt: refused 127\\.0\\.0\\.1:[0-9]+: the peer presented no certificate" "... and the client without one"
# virsh will not even present a certificate its CA did not sign; a client that does is
# refused in the handshake.
out=$(/usr/bin/python3 - "${CONTROLD#*:}" "$LEGO_PKI/ca.pem" "$TAP_TMP/v-other" 2>&1 <<'PY'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.load_verify_locations(sys.argv[2])
ctx.load_cert_chain(sys.argv[3] + "/clientcert.pem", sys.argv[3] + "/clientkey.pem")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10))
try:
    s.sendall(b"\0" * 32)
    print("answered" if s.recv(64) else "closed")
except (ssl.SSLError, OSError) as e:
    print("refused:", e)
PY
)
like "$out" "^(refused|closed)" "an admin certificate of another CA on the cluster port: refused in the handshake"
ok "logged '$TAP_TMP/controld.log' 'warn: cluster port: refused 127\\.0\\.0\\.1:[0-9]+: the peer.s certificate is not valid: .*(issuer|signer)'" \
	"... and logged: its issuer is unknown"

# ---- the read-only socket -------------------------------------------------------------------------
is "$(stat -c %a "$LIBVIRT_SOCK")/$(stat -c %a "$LIBVIRT_SOCK-ro")" "600/666" \
	"the read-write socket is its owner's (0600), the read-only one anyone's (0666)"
RO=(timeout 20 setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp virsh -c "$LIBVIRT_RO_URI")
like "$("${RO[@]}" list --all 2>&1)" "vn1 +running" "user nobody lists the vNodes on the read-only socket"
out=$(timeout 20 setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp virsh -c "$LIBVIRT_URI" list 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*(Permission denied|Failed to connect)" "... but cannot connect to the read-write socket"
out=$("${RO[@]}" destroy vn1 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*read only access prevents" "destroy on the read-only socket: refused"
cp "$TAP_TMP/vn1.xml" "$ATTACK_DIR/vn2.xml"
sed -i 's/vn1/vn2/; s/1111-2222/1111-3333/' "$ATTACK_DIR/vn2.xml"
out=$("${RO[@]}" define "$ATTACK_DIR/vn2.xml" 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*read only access prevents" "define on the read-only socket: refused"
out=$("${RO[@]}" undefine vn1 2>&1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*read only access prevents" "undefine on the read-only socket: refused"
out=$(vsh -r destroy vn1)
rc=$?; like "$rc/$(flat "$out")" "^1/.*read only access prevents" "virsh -r (CONNECT_OPEN's read-only flag) on the read-write socket: destroy refused"
like "$(cat "$TAP_TMP/controld.log")" "info: procedure 12 failed: operation forbidden: read only access prevents" \
	"the refusals are logged"
ok victim_ok "the victim vNode runs on"

# ---- one lego-controld per state directory and per socket ---------------------------------------
C2=$BUILD/asan/bin/lego-controld
"$C2" --socket "$CLUSTER_RUN/other-sock" --listen 127.0.0.1:0 --state-dir "$TAP_TMP/controld-state" \
	2>"$TAP_TMP/controld2.log"
is "$?" 1 "a second lego-controld on the same state directory: exit 1"
like "$(cat "$TAP_TMP/controld2.log")" "state directory .*controld-state is in use by another lego-controld \\(pid $CPID\\): refusing to start" \
	"... saying so, with the first one's pid"
"$C2" --socket "$LIBVIRT_SOCK" --listen 127.0.0.1:0 --state-dir "$TAP_TMP/state2" \
	2>"$TAP_TMP/controld3.log"
is "$?" 1 "a second lego-controld on the same socket: exit 1"
like "$(cat "$TAP_TMP/controld3.log")" "another lego-controld \\(pid $CPID\\) serves on .*libvirt-sock: refusing to start" \
	"... saying so"
ok "[ ! -e '$TAP_TMP/state2/domains' ]" "... before touching its own state directory"
like "$(vsh list --all)" "vn1 +running" "the first lego-controld serves on its socket"
ok victim_ok "... and its cluster"

# ---- exhaustion: idle connections -------------------------------------------------------------------
C_RSS0=$(rss_kib "$CPID") P_RSS0=$(rss_kib "$H1_PID")
ok "attack idle1 idle '${CONTROLD#*:}' 400 60 127.0.0.2" "400 idle connections from 127.0.0.2 to the cluster port"
ok "attack idle2 idle '${H1#*:}' 400 60 127.0.0.2" "400 to lego-pmon h1's port"
ok "attack idle3 idle '$TLS_PORT' 400 60 127.0.0.2" "400 to the libvirt TLS port"
addrs=$(for i in $(seq 10 49); do printf '127.0.0.%d ' "$i"; done)
# shellcheck disable=SC2086 # one address per word
ok "attack idle4 idle '${CONTROLD#*:}' 800 60 $addrs" "800 more to the cluster port from 40 addresses"
like "$(components)" "pmon +h1 +$H1 +up" "meanwhile legoctl (a legitimate client) is served on the cluster port"
like "$("$PROBE" ctl "$VADDR" "$U1" stats)" '"state": "running"' "... lego-controld's kind of request on lego-pmon"
like "$(timeout 20 virsh -c "$(tls_uri "$TAP_TMP/v-good")" list 2>&1)" "vn1 +running" "... and virsh over TLS"
like "$(vsh domstate vn1)" "running" "... and virsh on the UNIX socket: the control plane still drives vn1"
C_RSS1=$(rss_kib "$CPID") P_RSS1=$(rss_kib "$H1_PID")
diag "RSS under 2000 idle connections: lego-controld $C_RSS0 -> $C_RSS1 KiB, lego-pmon $P_RSS0 -> $P_RSS1 KiB (ASan builds)"
ok "[ $((C_RSS1 - C_RSS0)) -lt 65536 ] && [ $((P_RSS1 - P_RSS0)) -lt 32768 ]" \
	"RSS bounded: lego-controld grew $(((C_RSS1 - C_RSS0) / 1024)) MiB (< 64), lego-pmon $(((P_RSS1 - P_RSS0) / 1024)) MiB (< 32)"
log=$(cat "$TAP_TMP/controld.log")
like "$log" "warn: cluster port: refused 127\\.0\\.0\\.2:[0-9]+: already 64 connections from 127\\.0\\.0\\.2 \\(at most 64\\)" \
	"the cluster port refuses a 65th connection from one address, and logs it"
like "$log" "warn: libvirt: refused 127\\.0\\.0\\.2:[0-9]+: already 32 connections from 127\\.0\\.0\\.2" "... so does the libvirt TLS port"
like "$log" "dropped 127\\.0\\.0\\.[0-9]+, still in its TLS handshake, for a new connection" \
	"strangers from many addresses hold at most the handshake slots: the oldest gives way"
like "$(cat "$TAP_TMP/h1.log")" "warn: vNode requests: dropped 127\\.0\\.0\\.2, still in its TLS handshake, for a new connection" \
	"lego-pmon (32 handshake slots, fewer than its 64 per peer) lets the oldest stranger go for each new one, and logs it"
ok "[ $(grep -c 'refused 127.0.0' "$TAP_TMP/controld.log") -lt 200 ]" \
	"refusals are sampled: $(grep -c 'refused 127.0.0' "$TAP_TMP/controld.log") log lines for thousands of refused connections"
for p in "${ATTACKERS[@]}"; do kill "$p" 2>/dev/null; done
ATTACKERS=()

# ---- exhaustion: half-sent 32 MiB libvirt packets from a local user ----------------------------
C_RSS0=$(rss_kib "$CPID")
AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
ok "attack half halfsent '$LIBVIRT_SOCK-ro' 20 30 60" \
	"user nobody sends 20 libvirt packets of 32 MiB, 30 MiB of each, on the read-only socket and waits"
AS=()
held=$(cat "$ATTACK_DIR/half.ready")
like "$(timeout 20 virsh -c "$LIBVIRT_URI" list 2>&1)" "vn1 +running" "meanwhile virsh is served"
C_RSS1=$(rss_kib "$CPID")
diag "half-sent packets: $held of 20 held by lego-controld; its RSS $C_RSS0 -> $C_RSS1 KiB (a 64 MiB budget for big packets)"
ok "[ '$held' -le 2 ] && [ $((C_RSS1 - C_RSS0)) -lt 98304 ]" \
	"at most 2 are held (the 64 MiB budget) and RSS grew $(((C_RSS1 - C_RSS0) / 1024)) MiB (< 96), not 20 x 30 MiB"
like "$(cat "$TAP_TMP/controld.log")" "warn: libvirt: uid 65534 pid [0-9]+: a 33554428-byte packet while other clients' big packets fill the memory kept for them: closing" \
	"the refused packets are logged"
for p in "${ATTACKERS[@]}"; do kill "$p" 2>/dev/null; done
ATTACKERS=()

# ---- exhaustion: throw-away registrations -----------------------------------------------------------
names=$(for i in $(seq 50); do printf 'x%d ' "$i"; done)
# shellcheck disable=SC2086
attack reg1 register "${CONTROLD#*:}" "$LEGO_PKI" mmon-rogue 2 $names
is "$(cat "$ATTACK_DIR/reg1.out")" "9:50" "50 registrations of other names with one stolen memory-server certificate: all refused"
attack reg2 register "${CONTROLD#*:}" "$LEGO_PKI" mmon-rogue 2 $(printf 'rogue %.0s' $(seq 50))
is "$(cat "$ATTACK_DIR/reg2.out")" "0:50" "50 registrations under its own name: accepted, one after the other"
is "$(components | grep -c rogue)" 1 "... which take one entry of the table"
for i in $(seq 0 259); do # the release legoctl: 260 ASan starts would take a minute
	printf -v n 't%03d' "$i"
	LEGOCTL_BIN=$BUILD/release/bin/legoctl pki_issue mmon "$n" || break
done
attack reg3 register-each "${CONTROLD#*:}" "$LEGO_PKI" 0 260
is "$(cat "$ATTACK_DIR/reg3.out")" "0:260" "260 memory servers with their own certificates come and go (a table of 256)"
like "$(cat "$TAP_TMP/controld.log")" "info: component table full \\(256\\): forgot memory server t[0-9]+, down for [0-9]+ s and used by no vNode" \
	"when the table is full, a component down and unused is forgotten"
cluster_mmon m2 128M
ok "wait_for \"'$CTL' -c '$CONTROLD' components\" 'mmon +m2 +.* up'" "a new memory server still registers"
like "$(components)" "pmon +h1 +$H1 +up" "the components in use are all still there"
ok victim_ok "the victim vNode runs on"

# ---- a lego-pmon out of file descriptors: accept backs off ------------------------------------------
pki_issue pmon h3
prlimit --nofile=24:24 "$BUILD/asan/bin/lego-pmon" --controld "$CONTROLD" --name h3 --vmm "$FAKE" \
	--run-dir "$CLUSTER_RUN/pmon-h3" --listen 127.0.0.1:0 --port-file "$TAP_TMP/h3.port" \
	2>"$TAP_TMP/h3.log" &
H3_PID=$!
SERVER_PIDS+=("$H3_PID")
wait_for "cat '$TAP_TMP/h3.port'" '^[0-9]+$' >/dev/null
H3=127.0.0.1:$(cat "$TAP_TMP/h3.port")
ok "attack fd idle '${H3#*:}' 60 6 127.0.0.3" "60 idle connections to a lego-pmon allowed 24 file descriptors (about 12 free)"
sleep 3
n=$(grep -c 'cannot accept a connection: Too many open files' "$TAP_TMP/h3.log")
ok "[ '$n' -ge 1 ] && [ '$n' -lt 40 ]" "accept fails for want of descriptors and backs off: $n log lines in 3 s, not a spin"
for p in "${ATTACKERS[@]}"; do kill "$p" 2>/dev/null; done
ATTACKERS=()
out=$(wait_for "'$PROBE' forget '$H3' $U9" "no vNode" 20 && echo served)
like "$out" "served" "once the connections are gone, it serves again"
ok "kill -0 $H3_PID && kill -0 $CPID && kill -0 $H1_PID" "every daemon is alive after all of it"
like "$(vsh destroy vn1)" "Domain 'vn1' destroyed" "the victim vNode, untouched by all of it, is destroyed by its owner"
no_sanitizer() { unlike "$(cat "$1")" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"; }
no_sanitizer "$TAP_TMP/controld.log" lego-controld
no_sanitizer "$TAP_TMP/h1.log" "lego-pmon h1"
done_testing
