#!/usr/bin/env bash
# controld.t: lego-controld (ASan+UBSan) with Debian's unmodified virsh and python3-libvirt,
# without booting a guest: the handshake, version, hostname, the cluster as nodeinfo,
# define/dumpxml/undefine with persistence across kill -9, libvirt's error codes for bad
# XML, duplicates and unsatisfiable resources, legoctl's cluster views, malformed libvirt
# packets and malformed cluster messages (each closes only its own connection); live
# migration between two processor hosts with virsh migrate --live --p2p and legoctl migrate,
# driven against a fake lego-vmm that speaks lego-vmm's migration commands (refusals, job
# info and progress, a destination that gives up, an uncertain hand-over both ways, an
# aborted job, lego-controld killed and restarted in the middle).
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 112

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'cluster_cleanup; rm -rf "$TAP_TMP"' EXIT

FAKE=$REPO/tests/lib/migrating-vmm
KNOBS=$TAP_TMP/knobs
mkdir -p "$KNOBS"
export FAKE_KNOBS=$KNOBS

TCP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
controld_start --libvirt-tcp "127.0.0.1:$TCP_PORT"
ok "[ -S '$LIBVIRT_SOCK' ] && [ -n '$CONTROLD_PORT' ]" "lego-controld listens (libvirt socket, cluster port)"
pmon_start host-a --cores 3 --memory 512M --vmm "$FAKE"
cluster_mmon mem-a 256M
ok "wait_alive 2" "a processor host and a memory server registered"
U=$LIBVIRT_URI
vsh() { timeout 20 virsh -c "$U" "$@" 2>&1; }

is "$(vsh hostname)" "$(hostname)" "virsh hostname"
is "$(timeout 20 virsh -c "lego+tcp://127.0.0.1:$TCP_PORT/system" hostname 2>&1)" "$(hostname)" \
	"virsh over TCP (--libvirt-tcp)"
like "$(vsh version)" "Running hypervisor: LEGO 0\\.1\\.0" "virsh version names the hypervisor"
info=$(vsh nodeinfo)
like "$info" "CPU\\(s\\): +3" "virsh nodeinfo: the cluster's processor cores"
like "$info" "Memory size: +262144 KiB" "virsh nodeinfo: the memory servers' capacity"
out=$(vsh list --all)
is "$?/$(grep -c . <<<"$out")" "0/2" "virsh list --all: an empty table"
out=$(vsh dominfo vn1)
ok "[ $? = 1 ] && grep -q \"failed to get domain 'vn1'\" <<<\"\$out\"" "a missing domain: virsh fails cleanly"

xml() { # name uuid vcpus [extra devices] [extra metadata]
	cat <<EOF
<domain type='lego'><name>$1</name><uuid>$2</uuid>
  <memory unit='MiB'>64</memory><vcpu>$3</vcpu>
  <os><type>hvm</type><kernel>$BUILD/images/lego-guest.elf</kernel><cmdline>run=memtest</cmdline></os>
  <devices>$4</devices>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>16</lego:excache>$5</lego:vnode></metadata>
</domain>
EOF
}
U1=11111111-2222-4333-8444-555555555555
xml vn1 $U1 1 >"$TAP_TMP/vn1.xml"
like "$(vsh define "$TAP_TMP/vn1.xml")" "Domain 'vn1' defined" "virsh define"
ok "[ -s '$TAP_TMP/controld-state/domains/vn1.xml' ]" "the definition is in the state directory"
is "$(vsh domuuid vn1 | head -n 1)" "$U1" "virsh domuuid"
is "$(vsh domid vn1 | head -n 1)" "-" "virsh domid of an inactive vNode: -"
dx=$(vsh dumpxml vn1)
like "$dx" "<lego:excache unit=.KiB.>16384</lego:excache>" "virsh dumpxml keeps the ExCache size"
like "$(vsh domstate vn1 --reason)" "shut off \\(unknown\\)" "virsh domstate --reason of a new vNode"

xml vn1 11111111-2222-4333-8444-000000000000 1 >"$TAP_TMP/dup.xml"
like "$(vsh define "$TAP_TMP/dup.xml")" "already exists with uuid $U1" "same name, other uuid: refused"
xml vnX $U1 1 >"$TAP_TMP/dupu.xml"
like "$(vsh define "$TAP_TMP/dupu.xml")" "'vn1' is already defined with uuid $U1" "same uuid, other name: refused"
py() { timeout 20 /usr/bin/python3 -c "$1" "$U" "${@:2}" 2>&1; }
code='
import libvirt,sys
c=libvirt.open(sys.argv[1])
try:
    c.defineXML(open(sys.argv[2]).read())
except libvirt.libvirtError as e:
    print(e.get_error_code(), e)'
printf '<domain><name>x' >"$TAP_TMP/bad.xml"
like "$(py "$code" "$TAP_TMP/bad.xml")" "^27 " "XML that does not parse: VIR_ERR_XML_ERROR"
xml vn9 $U1 1 "<graphics type='vnc'/>" >"$TAP_TMP/unk.xml"
like "$(py "$code" "$TAP_TMP/unk.xml")" "^67 .*graphics" "an unknown element: VIR_ERR_CONFIG_UNSUPPORTED naming it"

# Starts that cannot be satisfied say what is short.
xml big 22222222-2222-4333-8444-555555555555 8 >"$TAP_TMP/big.xml"
vsh define "$TAP_TMP/big.xml" >/dev/null
like "$(vsh start big)" "no processor host has 8 free core" "8 vCPUs on 3-core hosts: refused"
xml hint 33333333-2222-4333-8444-555555555555 1 "" "<lego:placement memory='mem-z'/>" >"$TAP_TMP/hint.xml"
vsh define "$TAP_TMP/hint.xml" >/dev/null
like "$(vsh start hint)" "memory server 'mem-z', which is not registered" "a hint naming an unknown memory server"
disk="<disk type='network' device='disk'><source protocol='lego' name='nope'/><target dev='vda' bus='virtio'/></disk>"
xml novol 44444444-2222-4333-8444-555555555555 1 "$disk" >"$TAP_TMP/novol.xml"
vsh define "$TAP_TMP/novol.xml" >/dev/null
like "$(vsh start novol)" "volume 'nope' .*on no registered storage server" "a disk whose volume exists nowhere"
is "$(vsh domstate novol)" "shut off" "a failed start leaves the vNode shut off"
like "$(vsh list --all)" "big .*shut off" "virsh list --all lists every definition"

# legoctl's views.
like "$("$CTL" -c "$CONTROLD" components)" "pmon +host-a +127\\.0\\.0\\.1:[0-9]+ +up +0/3" "legoctl components"
like "$("$CTL" -c "$CONTROLD" --json vnodes)" '"name": "vn1", "uuid": "'$U1'", "id": -1, "state": "shut off"' \
	"legoctl --json vnodes"
out=$("$CTL" -c "$CONTROLD" vnode nope 2>&1)
ok "[ $? = 1 ] && grep -q \"no vNode named 'nope'\" <<<\"\$out\"" "legoctl vnode of an unknown name: exit 1, says so"

# kill -9 and restart: definitions come back from the state directory.
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
controld_start
ok "wait_alive 2" "restarted: the components registered again by themselves"
is "$(vsh domuuid vn1 | head -n 1)" "$U1" "vn1 survived the restart with its uuid"
is "$(vsh list --all --name | grep -c .)" "4" "and so did every other definition"
like "$(vsh undefine vn1)" "Domain 'vn1' has been undefined" "virsh undefine"
ok "[ ! -e '$TAP_TMP/controld-state/domains/vn1.xml' ]" "its file left the state directory"

# A Linux kernel as the guest: <initrd> and <cmdline> reach lego-vmm as --initrd and --append.
cat >"$TAP_TMP/lnx.xml" <<EOF
<domain type='lego'><name>lnx</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/srv/linux/vmlinux</kernel><initrd>/srv/linux/initramfs.cpio</initrd>
    <cmdline>root=/dev/vda quiet</cmdline></os>
</domain>
EOF
like "$(vsh define "$TAP_TMP/lnx.xml")" "Domain 'lnx' defined" "virsh define: a Linux kernel with an <initrd>"
like "$(vsh dumpxml lnx)" "<initrd>/srv/linux/initramfs.cpio</initrd>" "virsh dumpxml keeps the <initrd>"
like "$(vsh start lnx)" "Domain 'lnx' started" "virsh start: the Linux vNode"
lg=
for _ in $(seq 100); do
	lg=$(grep -l -e '--initrd' "$CLUSTER_RUN"/pmon-host-*/*.log 2>/dev/null | head -n 1)
	[ -n "$lg" ] && break
	sleep 0.1
done
like "$(head -n 1 "$lg" 2>/dev/null)" \
	"migrating-vmm --kernel /srv/linux/vmlinux --initrd /srv/linux/initramfs.cpio .*--append root=/dev/vda quiet" \
	"lego-pmon ran lego-vmm with --kernel, --initrd and --append"
vsh destroy lnx >/dev/null
like "$(vsh undefine lnx)" "Domain 'lnx' has been undefined" "the Linux vNode destroyed and undefined"

# Malformed libvirt packets close that connection only.
out=$(/usr/bin/python3 - "$LIBVIRT_SOCK" <<'PY'
import socket, struct, sys
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5); return s
def closed(s):
    try:
        return s.recv(10) == b""
    except ConnectionResetError:
        return True
s = conn(); s.send(struct.pack('>I', 0x7fffffff)); print("huge", closed(s))
s = conn(); s.send(struct.pack('>I', 12) + b"12345678"); print("short", closed(s))
s = conn(); s.send(struct.pack('>I', 32) + struct.pack('>IIiiIi', 0x20008086, 1, 66, 0, 0, 0) + b"junk")
d = s.recv(4096); print("trailing", struct.unpack('>i', d[24:28])[0])
PY
)
like "$out" "huge True" "libvirt: an impossible length closes the connection"
like "$out" "short True" "libvirt: a packet shorter than a header closes the connection"
like "$out" "trailing 1" "libvirt: arguments where none belong get an error reply"

# Malformed cluster messages: an error reply each, and the daemon lives on (mutual TLS: as
# the memory server mem-a for what components send, as an admin for pool jobs).
out=$(/usr/bin/python3 - "$CONTROLD_PORT" "$LEGO_PKI" <<'PY'
import socket, ssl, struct, sys
pki = sys.argv[2]
def ctx(cert):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.load_verify_locations(pki + "/ca.pem")
    c.load_cert_chain(pki + "/%s.pem" % cert, pki + "/%s-key.pem" % cert)
    return c
comp, admin = ctx("mmon-mem-a"), ctx("admin-operator")
def msg(op, payload, magic=0x4347454c, ver=1, rsv=0):
    return struct.pack('<IHHQIIQ', magic, ver, op, 7, 0, len(payload), rsv) + payload
def call(data, c=comp):
    s = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5))
    s.settimeout(5); s.sendall(data)
    d = s.recv(4096)
    return struct.unpack('<I', d[16:20])[0] if len(d) >= 32 else -1
def reg(kind, name, cores=0):
    return struct.pack('<IIQ', kind, cores, 1 << 30) + name.ljust(64, b'\0') + b"127.0.0.1:1".ljust(128, b'\0')
print("magic", call(msg(1, reg(2, b"m"), magic=0x12345678)))
print("reserved", call(msg(1, reg(2, b"m"), rsv=1)))
print("short", call(msg(1, reg(2, b"m")[:100])))
print("kind", call(msg(1, reg(7, b"m"))))
print("pmon0", call(msg(1, reg(1, b"p", 0))))
print("dup", call(msg(1, reg(2, b"mem-a"))))
print("hb", call(msg(2, struct.pack('<QII', 0, 0, 0))))
print("op", call(msg(99, b"")))
print("pooljob", call(msg(11, struct.pack('<II', 9, 0) + bytes(64)), admin))
print("poolname", call(msg(11, struct.pack('<II', 1, 0) + b"mem a".ljust(64, b'\0')), admin))
print("poolshort", call(msg(11, struct.pack('<II', 2, 0)), admin))
print("poolstat", call(msg(12, b"x"), admin))
PY
)
like "$out" "magic 1" "cluster: bad magic: protocol error"
like "$out" "reserved 1" "cluster: reserved header bytes: protocol error"
like "$out" "short 1" "cluster: truncated REGISTER: protocol error"
like "$out" "kind 3" "cluster: unknown component kind: invalid"
like "$out" "pmon0 3" "cluster: a processor host with 0 cores: invalid"
like "$out" "dup 5" "cluster: a live component's name taken again: exists"
like "$out" "hb 8" "cluster: heartbeat before registering: not registered"
like "$out" "op 2" "cluster: unknown op"
like "$out" "pooljob 3" "cluster: POOL_JOB of an unknown job: invalid"
like "$out" "poolname 3" "cluster: POOL_JOB naming no server as operators type them: invalid"
like "$out" "poolshort 1" "cluster: truncated POOL_JOB: protocol error"
like "$out" "poolstat 1" "cluster: POOL_STATUS with a payload: protocol error"
is "$(vsh hostname)" "$(hostname)" "and the daemon still serves"

# ---- live migration -------------------------------------------------------------------
pmon_start host-b --cores 2 --memory 256M --vmm "$FAKE"
ok "wait_alive 3" "a second processor host registered"
mxml() { # name uuid vcpus: a vNode placed on host-a
	xml "$1" "$2" "$3" "" "<lego:placement processor='host-a'/>"
}
wait_vnode() { # name regex: legoctl's first line about it matches within 10 s
	for _ in $(seq 100); do
		"$CTL" -c "$CONTROLD" vnode "$1" 2>/dev/null | head -n 1 | grep -Eq "$2" && return 0
		sleep 0.1
	done
	diag "$("$CTL" -c "$CONTROLD" vnode "$1" 2>&1 | head -n 3)"
	return 1
}
vmig() { # domain desturi [virsh migrate options]: its output on one line, then "rc=N"
	local out rc
	out=$(timeout 60 virsh -c "$U" migrate --live --p2p "${@:3}" "$1" "$2" 2>&1)
	rc=$?
	printf '%s rc=%s\n' "$(tr '\r\n' '  ' <<<"$out")" "$rc"
}
mxml wide 55555555-2222-4333-8444-555555555555 3 >"$TAP_TMP/wide.xml"
vsh define "$TAP_TMP/wide.xml" >/dev/null
like "$(vsh start wide)" "Domain 'wide' started" "a 3-vCPU vNode starts on host-a"
ok "wait_vnode wide 'running, id [0-9]+ on host-a'" "... and its host confirms it"
like "$(vmig wide lego+tcp://host-b/system)" \
	"processor host 'host-b' cannot take vNode 'wide': it needs 3 core\\(s\\) but only 2 of 2 are free.*rc=1" \
	"migrate to a host without the cores: refused, saying what is short"
vsh destroy wide >/dev/null

mxml mv1 66666666-2222-4333-8444-555555555555 1 >"$TAP_TMP/mv1.xml"
mxml mv0 77777777-2222-4333-8444-555555555555 1 >"$TAP_TMP/mv0.xml"
vsh define "$TAP_TMP/mv1.xml" >/dev/null
vsh define "$TAP_TMP/mv0.xml" >/dev/null
vsh start mv1 >/dev/null
ok "wait_vnode mv1 'running, id [0-9]+ on host-a'" "vNode mv1 runs on host-a"
ID=$(vsh domid mv1 | head -n 1)
like "$(vmig mv0 lego+tcp://host-b/system)" "error: Requested operation is not valid: domain is not running.*rc=1" \
	"migrate a vNode that is not running: refused (OPERATION_INVALID)"
like "$(vmig mv1 lego+tcp://host-z/system)" "error: invalid argument: no processor host named 'host-z'.*rc=1" \
	"migrate to an unknown host: refused, naming it"
like "$(vmig mv1 lego+tcp://host-a/system)" "already runs on processor host 'host-a'.*rc=1" \
	"migrate to the host it runs on: refused"
like "$(vmig mv1 lego+tcp://host-b/system --suspend)" "argument unsupported: lego does not support these migration flags: --suspend" \
	"a migration flag lego cannot honour is refused by its virsh name"
like "$(vmig mv1 lego+tcp://host-b/system --bandwidth 100)" "argument unsupported: lego-vmm has no migration bandwidth limit" \
	"a bandwidth limit is refused"
like "$(vmig mv1 lego+tcp://host-b/system --comp-methods xbzrle)" "argument unsupported: parameter 'compression' not supported" \
	"an unsupported migration parameter is refused by name"
like "$(vmig mv1 lego+tcp://host-b/session)" "argument unsupported: destination URI 'lego\\+tcp://host-b/session'" \
	"a destination URI with another path is refused"
ok "wait_vnode mv1 'running, id $ID on host-a'" "after every refusal mv1 still runs on host-a"

out=$(vmig mv1 lego+tcp://host-b:16509/system --verbose --dname mv1)
like "$out" "Migration: \\[100 %\\].*rc=0" "virsh migrate --live --p2p --verbose to host-b: done"
like "$out" "Migration: \\[ *[1-9][0-9]? %\\]" "... its progress bar showed the way (job info while it ran)"
ok "wait_vnode mv1 'running, id $ID on host-b'" "legoctl: mv1 runs on host-b, with the same domain id"
is "$(vsh domid mv1 | head -n 1)" "$ID" "virsh domid: the id stayed"
like "$(vsh domstate mv1 --reason)" "running \\(migrated\\)" "virsh domstate --reason: running (migrated)"
like "$(vsh dominfo mv1)" "State: +running" "virsh dominfo follows it"
like "$(vsh dommemstat mv1)" "rss 64" "virsh dommemstat reaches its new lego-vmm (the old one has exited)"
code='
import libvirt, sys, time
c = libvirt.open(sys.argv[1])
d = c.lookupByName("mv1")
st = c.newStream(0)
d.openConsole(None, st, 0)
text, end = b"", time.time() + 10
while b"resumed on host-b" not in text and time.time() < end:
    b = st.recv(4096)
    if not b:
        break
    text += b
st.abort()
print(text.decode().replace("\n", "|"))'
like "$(py "$code")" "hello.*resumed on host-b" "the console stream follows it (history from host-a, then host-b)"
sleep 1.5
hla=$(cat "$TAP_TMP/host-a.log")
like "$hla" "vNode mv1 \\(66666666-[^)]*\\) pid [0-9]+ exited with status 126: migrated" \
	"host-a: the source lego-vmm exited 126 (migrated)"
like "$hla" "forgot vNode mv1" "host-a was told to forget it"
log=$(cat "$TAP_TMP/controld.log")
like "$log" "vNode mv1 \\(id $ID\\) migrated from host-a to host-b: [0-9.]+ ms, downtime [0-9.]+ ms, 67108864 bytes" \
	"lego-controld logs the migration with its figures"
unlike "$log" "vNode mv1 .*(marking it crashed|exited with status 126$|freed [0-9]+ vRegion)" \
	"the source's exit marked nothing stopped and freed no vRegions"

# Back to host-a with legoctl, slowly: job info, legoctl vnode and refusals meanwhile.
echo 4 >"$KNOBS/slow"
"$CTL" -c "$CONTROLD" migrate mv1 host-a >"$TAP_TMP/lm.out" 2>"$TAP_TMP/lm.err" &
LM=$!
# Until the source reports its precopy (the migration's start takes a few TLS calls).
for _ in $(seq 100); do
	"$CTL" -c "$CONTROLD" vnode mv1 2>/dev/null | grep -q "migrating from host-b to host-a: precopy" && break
	sleep 0.1
done
like "$(vsh domjobinfo mv1 | tr '\n' ' ')" "Job type: +Bounded .*Data total: +64\\.000 MiB" "virsh domjobinfo while it migrates: bounded, 64 MiB"
like "$("$CTL" -c "$CONTROLD" vnode mv1)" "migrating from host-b to host-a: precopy" "legoctl vnode shows the migration under way"
like "$(vsh destroy mv1)" "is migrating from host-b to host-a" "virsh destroy meanwhile: refused"
like "$(vmig mv1 lego+tcp://host-a/system)" "already migrating to host-a.*rc=1" "a second migration meanwhile: refused"
wait "$LM"
is "$?" 0 "legoctl migrate: exit 0"
like "$(cat "$TAP_TMP/lm.out")" "^mv1 migrated from host-b to host-a: total [0-9.]+ ms, downtime [0-9.]+ ms, 64\\.0 MiB sent" \
	"legoctl migrate reports total time, downtime and bytes"
like "$(cat "$TAP_TMP/lm.err")" "migrating mv1 from host-b to host-a: precopy, [0-9]+% \\([0-9.]+ of 64\\.0 MiB\\)" \
	"... with progress lines on stderr (not a terminal)"
like "$(vsh domjobinfo mv1)" "Job type: +None" "no job once it is over"
ok "wait_vnode mv1 'running, id $ID on host-a'" "mv1 is back on host-a"
rm -f "$KNOBS/slow"

# A console stream open across a migration goes on on the new host.
code='
import libvirt, sys, threading, time
c, c2 = libvirt.open(sys.argv[1]), libvirt.open(sys.argv[1])
d = c.lookupByName("mv1")
st = c.newStream(0)
d.openConsole(None, st, 0)
text = b""
while not text.endswith(b"resumed on host-a\n"):  # the history so far
    text += st.recv(4096)
n0 = text.count(b"resumed on host-b")
def move():
    c2.lookupByName("mv1").migrateToURI3("lego+tcp://host-b/system", {},
                                         libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER)
t = threading.Thread(target=move)
t.start()
end = time.time() + 20
while text.count(b"resumed on host-b") == n0 and time.time() < end:
    b = st.recv(4096)
    if not b:
        print("the stream ended")
        break
    text += b
t.join()
st.abort()
print("new lines:", text[text.rfind(b"resumed on host-a"):].decode().replace("\n", "|"))'
like "$(py "$code")" "^new lines: resumed on host-a\\|fake guest [0-9]+ resumed on host-b\\|$" \
	"a console stream open during the migration carries on from host-b (python3-libvirt)"
"$CTL" -c "$CONTROLD" migrate mv1 host-a >/dev/null 2>&1
ok "wait_vnode mv1 'running, id $ID on host-a'" "... and mv1 comes back to host-a (legoctl)"

# A destination that gives up (exit 124): the source keeps the vNode.
echo 124 >"$KNOBS/dest-exit"
like "$(vmig mv1 lego+tcp://host-b/system)" \
	"operation failed: migration of vNode 'mv1' to host-b failed: the destination closed the connection; it runs on host-a as before.*rc=1" \
	"a destination that exits 124: the migration fails, saying why"
rm -f "$KNOBS/dest-exit"
ok "wait_vnode mv1 'running, id $ID on host-a'" "... and mv1 runs on host-a as before"
like "$(cat "$TAP_TMP/host-b.log")" "exited with status 124: incoming migration aborted" \
	"host-b: its lego-vmm exited 124 (nothing ran there)"

# The connection breaks right after the destination is told to run: it decides.
echo ran >"$KNOBS/uncertain"
like "$(vmig mv1 lego+tcp://host-b/system)" "rc=0" "uncertain hand-over, destination runs it: migrated"
ok "wait_vnode mv1 'running, id $ID on host-b'" "... mv1 is on host-b"
like "$(cat "$TAP_TMP/controld.log")" "uncertain; the destination runs it: 'migrate-resolve commit'" \
	"... committed because the destination runs it"
echo never >"$KNOBS/uncertain"
like "$(vmig mv1 lego+tcp://host-a/system)" "the destination never ran: resumed here; it runs on host-b as before.*rc=1" \
	"uncertain hand-over, destination exits 124: the source resumes"
ok "wait_vnode mv1 'running, id $ID on host-b'" "... mv1 stays on host-b"
like "$(cat "$TAP_TMP/controld.log")" "uncertain; the destination never ran it: 'migrate-resolve abort'" \
	"... aborted because the destination never ran it"
rm -f "$KNOBS/uncertain"

# Until the source reports its precopy (a fixed sleep was too short on a loaded machine).
wait_precopy() { # from to
	for _ in $(seq 300); do
		"$CTL" -c "$CONTROLD" vnode mv1 2>/dev/null | grep -q "migrating from $1 to $2: precopy" && return
		sleep 0.1
	done
}

# virsh domjobabort (what virsh migrate does on Ctrl-C).
echo 3 >"$KNOBS/slow"
vmig mv1 lego+tcp://host-a/system >"$TAP_TMP/abort.out" &
VM=$!
wait_precopy host-b host-a
vsh domjobabort mv1 >/dev/null
wait "$VM"
like "$(cat "$TAP_TMP/abort.out")" "error: operation aborted: migration job: canceled by client.*rc=1" \
	"virsh domjobabort: the migration stops (operation aborted)"
ok "wait_vnode mv1 'running, id $ID on host-b'" "... and mv1 runs on host-b as before"
like "$(vsh domjobabort mv1)" "no job is active on the domain" "domjobabort with no migration: refused"

# A source that exits 126 before its 'completed' is read: moved, figures unknown.
rm -f "$KNOBS/slow"
touch "$KNOBS/quick-exit"
like "$("$CTL" -c "$CONTROLD" migrate mv1 host-a 2>/dev/null)" \
	"^mv1 migrated from host-b to host-a: total [0-9.]+ ms, downtime [0-9.]+ ms|^mv1 migrated from host-b to host-a: total [0-9.]+ ms, downtime and bytes sent not reported" \
	"a source that exits at once: migrated (its figures said only if they were read in time)"
rm -f "$KNOBS/quick-exit"
ok "wait_vnode mv1 'running, id $ID on host-a'" "... mv1 is on host-a"

# lego-controld killed in the middle: restarted, it follows the migration to its end.
echo 3 >"$KNOBS/slow"
"$CTL" -c "$CONTROLD" migrate mv1 host-b >"$TAP_TMP/lm2.out" 2>"$TAP_TMP/lm2.err" &
LM=$!
wait_precopy host-a host-b # the source is sending: a restart must follow it, not roll it back
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
wait "$LM"
is "$?" 2 "legoctl migrate whose lego-controld dies: exit 2"
like "$(cat "$TAP_TMP/lm2.err")" "before the migration's end" "... saying the migration goes on without it"
ok "grep -q '^migrating host-b ' '$TAP_TMP'/controld-state/run/66666666-*.run" \
	"the run file records the migration under way"
controld_start
ok "wait_vnode mv1 'running, id $ID on host-b'" "restarted lego-controld: mv1 ends up on host-b"
log=$(cat "$TAP_TMP/controld.log")
like "$log" "vNode mv1 \\(id $ID\\) was migrating from host-a to host-b: resuming that" \
	"... it resumed watching the migration from its run file"
like "$log" "vNode mv1 \\(id $ID\\) migrated from host-a to host-b" "... to its end"
ok "! grep -q '^migrating' '$TAP_TMP'/controld-state/run/66666666-*.run" "... and the run file says where it runs"
rm -f "$KNOBS/slow"
like "$(vsh destroy mv1)" "Domain 'mv1' destroyed" "the migrated vNode is destroyed on its new host"
unlike "$(cat "$TAP_TMP"/*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"
done_testing
