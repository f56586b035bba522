#!/usr/bin/env bash
# demo.sh: make demo: a local lego cluster (lego-controld, two lego-pmon processor hosts,
# two lego-mmon memory servers, a lego-smon storage server) and one vNode managed with
# Debian's virsh: define, start, its console, dominfo, dommemstat, the vRegion map (every
# vRegion on two memory servers: replication factor 2), a live migration to the other
# processor host, then the memory pool while it runs: a third memory server joins and one is
# drained into it, another is killed -9 and the factor restored; destroy, undefine. The guest
# runs a zipfian memtest over 40 MiB with an ExCache of 16 MiB (the rest of its RAM on the
# memory servers) and a blktest on its volume. Every control channel is mutual TLS under a
# throw-away cluster CA (legoctl pki, via tests/lib/pki.sh); virsh also reaches the vNode
# over TLS with an admin's client certificate, as libvirtd's clients do.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
export BUILD
. "$REPO/tests/lib/kvm.sh"

if [ "${LEGO_IN_TESTBED:-0}" != 1 ]; then
	echo "== lego demo: a vNode defined and started with virsh through lego-controld; its"
	echo "   memory on two lego-mmon servers, its disk on a lego-smon storage server"
	if ! kvm_usable || ! kvm_hw; then
		echo "   This machine has no usable hardware KVM (no VT-x/AMD-V; a PVM /dev/kvm would"
		echo "   run the guest under instruction emulation)."
		echo "   The demo runs inside the nested test bed: Linux under QEMU's TCG emulator with"
		echo "   kvm-amd, so lego-vmm gets a real KVM there (slow, but the same code path)."
	fi
fi
kvm_require "$0" "$@"

B=$BUILD/release/bin
GUEST=$BUILD/images/lego-guest.elf
work=$BUILD/demo
rm -rf "$work"
mkdir -p "$work"
export TAP_TMP=$work CONTROLD_BIN=$B/lego-controld PMON_BIN=$B/lego-pmon MMON=$B/lego-mmon \
	SMON=$B/lego-smon LEGOCTL_BIN=$B/legoctl
. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
# The pmon's run directory (consoles, lego-vmm's log) is kept with the daemons' logs.
trap 'set +e; server_kill_all; cp -r "$CLUSTER_RUN"/pmon-* "$work"/ 2>/dev/null; rm -rf "$CLUSTER_RUN"' EXIT
run() { # show a command, then run it
	echo "\$ $*"
	"$@"
}

echo "== the cluster's PKI: a throw-away CA, and a certificate per component as it starts"
pki_init "$work/pki"
pki_virsh "$work/virsh-pki"
TLS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== the cluster: lego-controld, then every component joins its cluster port (mutual TLS)"
controld_start --region-size 16M --libvirt-tls "127.0.0.1:$TLS_PORT"
[ -n "$CONTROLD_PORT" ] || { cat "$work/controld.log"; exit 1; }
pmon_start host-a --cores 2 --memory 1G
pmon_start host-b --cores 2 --memory 1G
cluster_mmon mem-a 256M
cluster_mmon mem-b 256M
MEMB_PID=$MMON_PID
cluster_smon stor-a "$work/volumes"
wait_alive 5 || { cat "$work"/*.log; exit 1; }
run "$B/legoctl" -c "$CONTROLD" components
run "$B/legoctl" pki list "$work/pki"
echo "== capabilities: lego-controld signs, for each vNode it starts, what it may do on the"
echo "   memory and storage servers (the PKI's capability-key.pem); they check every request"
grep -h "capabilities:" "$work/controld.log" "$work/mem-a.log" | sed 's/^/   /'
run "$B/legoctl" --smon "127.0.0.1:$SMON_PORT" volume create demo-disk 64M

cat >"$work/demo.xml" <<EOF
<domain type='lego'>
  <name>demo</name>
  <memory unit='MiB'>64</memory>
  <vcpu>2</vcpu>
  <os>
    <type>hvm</type>
    <kernel>$GUEST</kernel>
    <cmdline>run=memtest,blktest memtest.mode=zipf memtest.size=40M memtest.ops=40000 blktest.size=4M idle=600</cmdline>
  </os>
  <devices>
    <disk type='network' device='disk'>
      <source protocol='lego' name='demo-disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
  <metadata>
    <lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
      <lego:excache unit='MiB'>16</lego:excache>
      <lego:replication factor='2'/>
    </lego:vnode>
  </metadata>
</domain>
EOF
echo "== the vNode's domain XML (kept as $work/demo.xml)"
cat "$work/demo.xml"
V=(virsh -c "$LIBVIRT_URI")
run "${V[@]}" define "$work/demo.xml"
run "${V[@]}" start demo
run "${V[@]}" list --all
echo "== the same over TLS (lego+tls, port $TLS_PORT): admin operator's client certificate"
run virsh -c "lego+tls://127.0.0.1:$TLS_PORT/system?pkipath=$work/virsh-pki" list --all
run "$B/legoctl" -c "$CONTROLD" vnode demo
echo "== the guest console, streamed through lego-controld (virsh console's procedure)"
/usr/bin/python3 - "$LIBVIRT_URI" "$work/console.log" <<'PY'
import sys, libvirt
conn = libvirt.open(sys.argv[1])
st = conn.newStream(0)
conn.lookupByName("demo").openConsole(None, st, 0)
text = b""
while b"lego-guest: idle" not in text:
    d = st.recv(4096)
    if not d:
        break
    text += d
    sys.stdout.write(d.decode(errors="replace"))
    sys.stdout.flush()
st.abort()
open(sys.argv[2], "wb").write(text)
PY
run "${V[@]}" dominfo demo
run "${V[@]}" dommemstat demo
run "$B/legoctl" -c "$CONTROLD" vnode demo
host=$("$B/legoctl" -c "$CONTROLD" --json vnode demo | sed -n 's/.*"host": "\(host-[ab]\)".*/\1/p')
other=host-b
[ "$host" = host-b ] && other=host-a
echo "== live migration from $host to $other: only dirty ExCache pages and vCPU/device state move"
run "${V[@]}" migrate --live --p2p --verbose demo "lego+tcp://$other/system"
run "$B/legoctl" -c "$CONTROLD" vnodes
run "${V[@]}" dominfo demo
echo "== and back to $host with legoctl, which reports the figures"
echo "\$ $B/legoctl -c $CONTROLD migrate demo $host"
"$B/legoctl" -c "$CONTROLD" migrate demo "$host" 2>&1 | tee "$work/migrate-back.txt"
echo "== the memory pool while the vNode runs: mem-c joins, mem-a is drained into it"
cluster_mmon mem-c 256M
wait_alive 6 || { cat "$work"/*.log; exit 1; }
echo "\$ $B/legoctl -c $CONTROLD mmon drain mem-a"
"$B/legoctl" -c "$CONTROLD" mmon drain mem-a 2>&1 | tee "$work/drain.txt"
run "$B/legoctl" -c "$CONTROLD" vnode demo
echo "== mem-b is killed -9: the vNode runs on the copies on mem-c, and mem-a (undrained)"
echo "   takes new copies: re-replication restores the factor"
run "$B/legoctl" -c "$CONTROLD" mmon undrain mem-a
disown "$MEMB_PID" # killed on purpose: no job notice from bash
kill -9 "$MEMB_PID"
for _ in $(seq 240); do
	"$B/legoctl" -c "$CONTROLD" pool 2>/dev/null | grep -q "re-replication: every vRegion has its copies" &&
		! "$B/legoctl" -c "$CONTROLD" vnode demo 2>/dev/null | grep -q "mem-b" && break
	sleep 0.5
done
run "$B/legoctl" -c "$CONTROLD" pool
run "$B/legoctl" -c "$CONTROLD" vnode demo
run "${V[@]}" domstate demo
run "${V[@]}" destroy demo
run "${V[@]}" domstate demo --reason
run "${V[@]}" undefine demo
echo "-- what happened --"
echo "trust:            one cluster CA (legoctl pki); every component registered with the"
echo "                  certificate of its kind and name, legoctl and virsh over TLS with an"
echo "                  admin's, the migration stream between the processor hosts' own."
echo "control plane:    lego-controld placed the vNode: the GPM chose $host's lego-pmon, which ran"
echo "                  lego-vmm; the GMM spread its 64 MiB in 16 MiB vRegions over both memory"
echo "                  servers by free capacity; the GSM found demo-disk on stor-a."
echo "migration:        virsh migrate moved it to $other: a lego-vmm there attached to the same"
echo "                  vRegions and volume; the source wrote its dirty ExCache pages back and"
echo "                  sent only vCPU, device and console state; legoctl migrate brought it back:"
echo "                  $(tail -n 1 "$work/migrate-back.txt")"
echo "                  dommemstat maps the ExCache onto libvirt's tags: rss = resident ExCache,"
echo "                  major_fault = faults served from a memory server, swap_in/swap_out ="
echo "                  KiB fetched from / written back to the memory servers."
echo "memory pool:      every vRegion had a copy on two memory servers; mem-c joined and took"
echo "                  mem-a's copies, filled server to server while the guest ran:"
echo "                  $(grep 'drained' "$work/drain.txt" | tail -n 1)"
echo "                  then mem-b died (kill -9): lego-vmm failed over to the other copies at"
echo "                  once, and lego-controld re-replicated them onto mem-a."
echo "logs:             $work/*.log (daemons), $work/pmon-host-*/*.log (lego-vmm)"
grep -h "RESULT" "$work/console.log" 2>/dev/null | sed 's/^/guest result:     /' || true
grep -q "lego-guest: all passed" "$work/console.log" # the demo's status: the guest's verdict
