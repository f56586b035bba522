#!/usr/bin/env bash
# libvirt-api.t: what libvirt users expect of lego-controld, with Debian's real virsh and
# python3-libvirt against lego-controld and lego-pmon (ASan+UBSan) running a stand-in
# lego-vmm (tests/lib/stand-in-vmm): every parse answers with its own error.
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 3

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'cluster_cleanup; rm -rf "$TAP_TMP"' EXIT

export STANDIN_KNOBS=$TAP_TMP/knobs
mkdir -p "$STANDIN_KNOBS"
controld_start
pmon_start host-a --cores 4 --memory 512M --vmm "$REPO/tests/lib/stand-in-vmm"
cluster_mmon mem-a 256M
ok "wait_alive 2" "a processor host and a memory server registered"
U=$LIBVIRT_URI
vsh() { timeout 30 virsh -c "$U" "$@" 2>&1; }
py() { timeout 30 /usr/bin/python3 -c "$1" "$U" "${@:2}" 2>&1; }
KERNEL=$TAP_TMP/guest.elf
: >"$KERNEL"
xml() { # name uuid vcpus [extra elements] [extra devices]
	cat <<XML
<domain type='lego'><name>$1</name><uuid>$2</uuid>
  <memory unit='MiB'>64</memory><vcpu>$3</vcpu>$4
  <os><type>hvm</type><kernel>$KERNEL</kernel></os>
  <devices>$5</devices>
</domain>
XML
}

# ---- (a) each parse says its own error --------------------------------------------------
out=$(py '
import libvirt, sys
a, b = libvirt.open(sys.argv[1]), libvirt.open(sys.argv[1])
for n, (c, x) in enumerate(((a, "<domain a=>"), (b, ""), (a, "  "), (b, "<a></b>"))):
    try:
        c.defineXML(x)
    except libvirt.libvirtError as e:
        print(n, e.get_error_code(), e.get_error_message())')
like "$(grep '^1 ' <<<"$out")" "^1 27 .*empty domain XML" \
	"defineXML(\"\") after another client's bad XML: its own error (XML_ERROR, empty)"
like "$(grep '^3 ' <<<"$out")" "^3 27 .*mismatch" "each bad text answers with its own error"
done_testing
