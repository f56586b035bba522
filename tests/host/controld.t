#!/usr/bin/env bash
# controld.t: lego-controld (ASan+UBSan) against Debian's unmodified virsh and
# python3-libvirt over its UNIX socket: the handshake, version, hostname, nodeinfo, an
# empty domain list, missing domains, libvirtd's "unknown procedure" (seen by clients as
# "not supported"), and malformed packets that close only their own connection.
. "$(dirname "$0")/../lib/tap.sh"
CTLD=$BUILD/asan/bin/lego-controld
tap_tmpdir
plan 16

sock=$TAP_TMP/controld.sock
"$CTLD" --socket "$sock" 2>"$TAP_TMP/controld.log" &
cpid=$!
trap 'kill $cpid 2>/dev/null; wait $cpid 2>/dev/null; rm -rf "$TAP_TMP"' EXIT
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.1
done
ok "[ -S '$sock' ]" "lego-controld listens on its UNIX socket"
U="lego+unix:///system?socket=$sock"
vsh() { timeout 20 virsh -c "$U" "$@" 2>&1; }

is "$(vsh hostname)" "$(hostname)" "virsh hostname"
like "$(vsh version)" "Running hypervisor: LEGO 0\\.1\\.0" "virsh version names the hypervisor"
like "$(vsh nodeinfo)" "CPU\\(s\\): +$(nproc)" "virsh nodeinfo counts this host's CPUs"
out=$(vsh list --all)
is "$?/$(grep -c . <<<"$out")" "0/2" "virsh list --all: an empty table"
out=$(vsh dominfo vn1)
ok "[ $? = 1 ] && grep -q \"failed to get domain 'vn1'\" <<<\"\$out\"" "a missing domain: virsh fails cleanly"

py() { timeout 20 /usr/bin/python3 -c "$1" "$U" 2>&1; }
is "$(py 'import libvirt,sys; c=libvirt.open(sys.argv[1]); print(c.getType(), c.getVersion(), c.getHostname()); c.close()')" \
	"LEGO 1000 $(hostname)" "python3-libvirt: type, version, hostname"
is "$(py 'import libvirt,sys; c=libvirt.open(sys.argv[1]); print(len(c.listAllDomains(0)))')" "0" \
	"python3-libvirt: no domains yet"
out=$(py '
import libvirt,sys
c=libvirt.open(sys.argv[1])
try:
    c.getCapabilities()
except libvirt.libvirtError as e:
    print(e.get_error_code(), e)')
like "$out" "^3 .*unknown procedure: 7" "an unknown procedure reaches the client as VIR_ERR_NO_SUPPORT"
out=$(py '
import libvirt,sys
c=libvirt.open(sys.argv[1])
try:
    c.lookupByName("nope")
except libvirt.libvirtError as e:
    print(e.get_error_code())')
is "$(tail -n 1 <<<"$out")" "42" "a missing domain is VIR_ERR_NO_DOMAIN"

# Malformed input closes that connection only.
out=$(/usr/bin/python3 - "$sock" <<'PY'
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
s = conn(); s.send(struct.pack('>I', 28) + struct.pack('>IIiiIi', 0x20008086, 1, 3, 9, 0, 0))
print("badtype", closed(s))
s = conn(); s.send(struct.pack('>I', 32) + struct.pack('>IIiiIi', 0x20008086, 1, 66, 0, 0, 0) + b"junk")
d = s.recv(4096); print("trailing", struct.unpack('>i', d[24:28])[0])
PY
)
like "$out" "huge True" "an impossible length closes the connection"
like "$out" "short True" "a packet shorter than a header closes the connection"
like "$out" "badtype True" "an unknown message type closes the connection"
like "$out" "trailing 1" "arguments where none belong: an error reply (status ERROR)"
is "$(vsh hostname)" "$(hostname)" "and the daemon still serves"
unlike "$(cat "$TAP_TMP/controld.log")" "ERROR: AddressSanitizer|runtime error:" "no sanitizer report"
