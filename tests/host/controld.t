#!/usr/bin/env bash
# controld.t: lego-controld (ASan+UBSan) with Debian's unmodified virsh and python3-libvirt,
# without booting a guest: the handshake, version, hostname, the cluster as nodeinfo,
# define/dumpxml/undefine with persistence across kill -9, libvirt's error codes for bad
# XML, duplicates and unsatisfiable resources, legoctl's cluster views, malformed libvirt
# packets and malformed cluster messages (each closes only its own connection).
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 45

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'cluster_cleanup; rm -rf "$TAP_TMP"' EXIT

TCP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
controld_start --libvirt-tcp "127.0.0.1:$TCP_PORT"
ok "[ -S '$LIBVIRT_SOCK' ] && [ -n '$CONTROLD_PORT' ]" "lego-controld listens (libvirt socket, cluster port)"
pmon_start host-a --cores 3 --memory 512M
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

# Malformed cluster messages: an error reply each, and the daemon lives on.
out=$(/usr/bin/python3 - "$CONTROLD_PORT" <<'PY'
import socket, struct, sys
def msg(op, payload, magic=0x4347454c, ver=1, rsv=0):
    return struct.pack('<IHHQIIQ', magic, ver, op, 7, 0, len(payload), rsv) + payload
def call(data):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
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
is "$(vsh hostname)" "$(hostname)" "and the daemon still serves"
unlike "$(cat "$TAP_TMP"/*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"
done_testing
