#!/usr/bin/env bash
# libvirt-api.t: what libvirt users expect of lego-controld, with Debian's real virsh and
# python3-libvirt against lego-controld and lego-pmon (ASan+UBSan) running a stand-in
# lego-vmm (tests/lib/stand-in-vmm): every parse answers with its own error.
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 36

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
# ---- (b) live and persistent definitions --------------------------------------------------
UL=66666666-2222-4333-8444-555555555555
xml vlive $UL 2 >"$TAP_TMP/vlive.xml"
vsh define "$TAP_TMP/vlive.xml" >/dev/null
like "$(vsh start vlive)" "Domain 'vlive' started" "a 2-vCPU vNode started"
xml vlive $UL 3 >"$TAP_TMP/vlive3.xml"
like "$(vsh define "$TAP_TMP/vlive3.xml")" "Domain 'vlive' defined" "redefined with 3 vCPUs while running"
live_checks() { # when
	like "$(vsh dominfo vlive)" "CPU\\(s\\): +2" "$1: dominfo shows the live 2 vCPUs"
	like "$(vsh dumpxml vlive)" "<vcpu placement='static'>2</vcpu>" "$1: dumpxml shows the live definition"
	like "$(vsh dumpxml --inactive vlive)" "<vcpu placement='static'>3</vcpu>" \
		"$1: dumpxml --inactive shows the new one"
	like "$("$CTL" -c "$CONTROLD" vnode vlive | tr '\n' ' ')" \
		"2 vCPU\\(s\\).*redefined: the next start takes 3 vCPU" "$1: legoctl vnode: live, and what the next start takes"
	is "$(py 'import libvirt,sys; print(libvirt.open(sys.argv[1]).lookupByName("vlive").isUpdated())')" \
		"1" "$1: python isUpdated()"
}
live_checks "running"
like "$(cat "$TAP_TMP/controld-state/domains/vlive.xml")" ">3</vcpu>" "the state directory: the persistent definition"
like "$(cat "$TAP_TMP/controld-state/run/$UL.xml")" ">2</vcpu>" "the state directory: the live one"
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
controld_start
wait_alive 2 >/dev/null
live_checks "after lego-controld restarted"
vsh destroy vlive >/dev/null
like "$(vsh dominfo vlive)" "CPU\\(s\\): +3" "stopped: the new definition is the vNode's"
ok "[ ! -e '$TAP_TMP/controld-state/run/$UL.xml' ]" "the live definition left the state directory"
like "$(vsh start vlive)" "Domain 'vlive' started" "started again"
like "$(vsh dumpxml vlive)" "<vcpu placement='static'>3</vcpu>" "the next start took the new definition"
like "$(grep -h -e '--cpus' "$CLUSTER_RUN"/pmon-host-a/$UL.log | tail -n 1)" "--cpus 3 " \
	"lego-vmm ran with 3 vCPUs"
vsh destroy vlive >/dev/null

# ---- (c) an honest start ------------------------------------------------------------------
knob() { if [ $# = 2 ]; then printf '%s' "$2" >"$STANDIN_KNOBS/$1"; else rm -f "$STANDIN_KNOBS/$1"; fi; }
wait_state() { # name regex: virsh domstate --reason matches within 20 s
	for _ in $(seq 200); do
		vsh domstate --reason "$1" | grep -Eq "$2" && return 0
		sleep 0.1
	done
	diag "$(vsh domstate --reason "$1")"
	return 1
}
UB=77777777-2222-4333-8444-555555555555
xml vbad $UB 1 | sed "s|<kernel>[^<]*</kernel>|<kernel>$TAP_TMP/no-such-kernel</kernel>|" >"$TAP_TMP/vbad.xml"
vsh define "$TAP_TMP/vbad.xml" >/dev/null
out=$(vsh start vbad)
ok "[ $? = 1 ]" "virsh start of a vNode whose lego-vmm dies at once: exit 1"
like "$out" "exited with status 125 before running it: cannot read guest image '$TAP_TMP/no-such-kernel': No such file or directory" \
	"... with lego-vmm's own reason"
is "$(vsh domstate --reason vbad)" "shut off (failed)" "domstate --reason: failed"
like "$("$CTL" -c "$CONTROLD" vnode vbad)" "last exit: failed to start: .*cannot read guest image" \
	"legoctl vnode: the last exit and its reason"
like "$(py 'import libvirt,sys
try:
    libvirt.open(sys.argv[1]).lookupByName("vbad").create()
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_message())')" "^9 .*cannot read guest image" \
	"python create(): VIR_ERR_OPERATION_FAILED with the reason"
knob usage "unknown option '--frobnicate'"
out=$(vsh start vlive)
ok "[ $? = 1 ] && grep -q \"status 64 .*unknown option '--frobnicate'\" <<<\"\$out\"" "a bad command line (exit 64): start fails saying so"
is "$(vsh domstate --reason vlive)" "shut off (failed)" "... and domstate says failed, not shutdown"
knob usage
knob delay 2
out=$(vsh start vlive)
st=$(/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"stats\n")
print(s.makefile().readline())' "$CLUSTER_RUN/pmon-host-a/$UL.sock" 2>&1)
like "$out" "Domain 'vlive' started" "a slow lego-vmm: virsh start waits for it"
like "$st" '"state": "running"' "... and returns only once lego-vmm says running"
knob delay
vsh destroy vlive >/dev/null
is "$(vsh domstate --reason vlive)" "shut off (destroyed)" "destroyed: domstate says so"
knob crash 0.5
like "$(vsh start vlive)" "Domain 'vlive' started" "a vNode that crashes after starting starts"
ok "wait_state vlive 'shut off \\(crashed\\)'" "exit 125 while running: domstate --reason crashed"
like "$("$CTL" -c "$CONTROLD" vnode vlive)" "last exit: crashed: exit status 125" "legoctl vnode: crashed, exit status 125"
knob exit 0
vsh start vlive >/dev/null
ok "wait_state vlive 'shut off \\(shutdown\\)'" "the guest's own shutdown (exit 0): domstate --reason shutdown"
knob crash
knob exit

done_testing
