#!/usr/bin/env bash
# libvirt-api.t: what libvirt users expect of lego-controld, with Debian's real virsh and
# python3-libvirt against lego-controld and lego-pmon (ASan+UBSan) running a stand-in
# lego-vmm (tests/lib/stand-in-vmm): every parse answers with its own error.
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 92

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
code='
import libvirt, sys
c = libvirt.open(sys.argv[1])
try:
    c.defineXML(open(sys.argv[2]).read())
except libvirt.libvirtError as e:
    print(e.get_error_code(), e)'
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
grep_wait() { # regex: lego-controld's log matches within 20 s
	for _ in $(seq 200); do
		grep -Eq "$1" "$TAP_TMP/controld.log" && return 0
		sleep 0.1
	done
	return 1
}
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

# ---- (d) procedures ----------------------------------------------------------------------
vsh start vlive >/dev/null
out=$(py '
import libvirt, sys
c = libvirt.open(sys.argv[1])
ids = c.listDomainsID()
print("ids", [c.lookupByID(i).name() for i in ids])
print("defined", sorted(c.listDefinedDomains()))
print("num", c.numOfDomains(), c.numOfDefinedDomains())
print("lib", c.getLibVersion())')
like "$out" "ids \\['vlive'\\]" "python listDomainsID(): the running vNode's id"
like "$out" "defined \\['vbad'\\]" "python listDefinedDomains(): the inactive ones"
like "$out" "num 1 1" "python numOfDomains(), numOfDefinedDomains()"
like "$out" "lib 9000000" "python getLibVersion(): the libvirt release lego-controld speaks (9.0.0)"
caps=$(vsh capabilities)
like "$caps" "<domain type='lego'/>" "virsh capabilities: the lego guest type"
like "$caps" "lego:guest kind='linux'" "... and lego's guest kinds"
dc=$(vsh domcapabilities)
like "$dc" "<vcpu max='64'/>" "virsh domcapabilities: the vCPU limit"
like "$(tr -d '\n ' <<<"$dc")" "<disksupported='yes'><enumname='diskDevice'><value>disk</value>" "... and lego's disks"
like "$(vsh vcpucount vlive | tr -s ' ')" "current live 3" "virsh vcpucount: the live count"
is "$(vsh vcpuinfo vlive | grep -c '^VCPU:')" 3 "virsh vcpuinfo: one entry per vCPU"
knob stats-faults 4242
ds=$(vsh domstats vlive)
like "$ds" "lego\\.faults=4242" "virsh domstats: lego-vmm's figures under lego."
like "$ds" "state\\.state=1" "virsh domstats: the state group"
like "$ds" "vcpu\\.current=3" "virsh domstats: the vcpu group"
knob stats-faults
out=$(py '
import libvirt, sys
d = libvirt.open(sys.argv[1]).lookupByName("vlive")
try:
    d.getTime()
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_message())')
like "$out" "^3 .*DOMAIN_GET_TIME" "an unsupported call: VIR_ERR_NO_SUPPORT naming the procedure"
like "$(vsh domtime vlive)" "unknown procedure: 337 \\(DOMAIN_GET_TIME\\)" "virsh domtime: says which procedure"
out=$(py 'import libvirt, sys, threading, time
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
print("keepalive", c.setKeepAlive(1, 1))
time.sleep(4)  # idle: pings every second, each answered
print("alive", c.isAlive(), c.numOfDomains())')
like "$out" "keepalive 0" "keepalive is advertised: setKeepAlive answers 0"
like "$out" "alive 1 1" "... and honoured: an idle connection pinged every second stays up"

# Lifecycle events: virsh event --all --loop, and python domainEventRegisterAny.
EV=$TAP_TMP/events.txt
timeout 60 virsh -c "$U" event --all --loop >"$EV" 2>&1 &
EVPID=$!
cat >"$TAP_TMP/events.py" <<'PY'
import libvirt, sys, threading, time
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []
def cb(conn, dom, event, detail, opaque):
    seen.append("%s %d %d" % (dom.name(), event, detail))
    print(seen[-1], flush=True)
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
print("registered", flush=True)
end = time.time() + 50
while time.time() < end and sum(s.endswith(" 5 1") for s in seen) < 2:
    libvirt.virEventRunDefaultImpl()
PY
timeout 60 /usr/bin/python3 "$TAP_TMP/events.py" "$U" >"$TAP_TMP/pyevents.txt" 2>&1 &
PYPID=$!
for _ in $(seq 100); do grep -q registered "$TAP_TMP/pyevents.txt" 2>/dev/null && break; sleep 0.1; done
sleep 1 # virsh event registers as it starts: no output says when
vsh destroy vlive >/dev/null
vsh start vlive >/dev/null
vsh suspend vlive >/dev/null
vsh resume vlive >/dev/null
vsh destroy vlive >/dev/null
wait "$PYPID"
for _ in $(seq 100); do grep -q "Stopped Destroyed" "$EV" && [ "$(grep -c 'Stopped Destroyed' "$EV")" -ge 2 ] && break; sleep 0.1; done
kill "$EVPID" 2>/dev/null
evs=$(grep "lifecycle" "$EV" | sed "s/.*for domain '\\([^']*\\)': /\\1 /" | tr '\n' ',')
is "$evs" "vlive Stopped Destroyed,vlive Started Booted,vlive Suspended Paused,vlive Resumed Unpaused,vlive Stopped Destroyed," \
	"virsh event --all --loop: stopped, started, suspended, resumed, stopped"
is "$(tr '\n' ',' <"$TAP_TMP/pyevents.txt")" "registered,vlive 5 1,vlive 2 0,vlive 3 0,vlive 4 0,vlive 5 1," \
	"python domainEventRegisterAny: the same events with their details"

# Autostart: marked vNodes start once lego-controld starts, as soon as the cluster has room.
UA=88888888-2222-4333-8444-555555555555
UW=99999999-2222-4333-8444-555555555555
xml vauto $UA 1 >"$TAP_TMP/vauto.xml"
xml vwide $UW 6 >"$TAP_TMP/vwide.xml"
vsh define "$TAP_TMP/vauto.xml" >/dev/null
vsh define "$TAP_TMP/vwide.xml" >/dev/null
like "$(vsh autostart vauto)" "Domain 'vauto' marked as autostarted" "virsh autostart"
vsh autostart vwide >/dev/null
like "$(vsh dominfo vauto)" "Autostart: +enable" "virsh dominfo: Autostart: enable"
is "$(vsh list --all --autostart --name | grep -c .)" 2 "virsh list --autostart"
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
controld_start
ok "wait_state vauto '^running'" "lego-controld restarted: the autostarted vNode runs"
is "$(vsh domstate vwide)" "shut off" "one too wide for the cluster (6 vCPUs, 4 cores) waits"
for _ in $(seq 100); do
	grep -q "autostart: vNode vwide waits for room: no processor host has 6 free core" "$TAP_TMP/controld.log" && break
	sleep 0.1
done
like "$(cat "$TAP_TMP/controld.log")" "autostart: vNode vwide waits for room: no processor host has 6 free core" \
	"the wait is logged with its reason"
pmon_start host-b --cores 8 --memory 512M --vmm "$REPO/tests/lib/stand-in-vmm"
ok "wait_state vwide '^running'" "... and starts once a processor host with room joins"
vsh autostart --disable vauto >/dev/null
like "$(vsh dominfo vauto)" "Autostart: +disable" "virsh autostart --disable"
vsh destroy vauto >/dev/null
vsh destroy vwide >/dev/null

# ---- (e) domain XML as other tools write it -----------------------------------------------
UM=aaaaaaaa-2222-4333-8444-555555555555
cat >"$TAP_TMP/vmeta.xml" <<XML
<domain type='kvm'><name>vmeta</name><uuid>$UM</uuid>
  <title>web &amp; db</title>
  <description>first line
second line</description>
  <metadata xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
    <nova:instance><nova:name>vm  one</nova:name><nova:flavor name="m1.small"/></nova:instance>
  </metadata>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>$KERNEL</kernel></os>
  <on_poweroff>restart</on_poweroff><on_reboot>restart</on_reboot><on_crash>restart</on_crash>
</domain>
XML
like "$(vsh define "$TAP_TMP/vmeta.xml")" "Domain 'vmeta' defined" "virsh define: <title>, <description>, <on_*>, another tool's <metadata>"
dx=$(vsh dumpxml vmeta)
like "$dx" "<title>web &amp; db</title>" "dumpxml: the title"
like "$(tr '\n' '|' <<<"$dx")" "<description>first line\\|second line</description>" "dumpxml: the description"
like "$dx" '<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"><nova:name>vm  one</nova:name><nova:flavor name="m1.small"/></nova:instance>' \
	"dumpxml: the other application's metadata verbatim, with its namespace"
like "$dx" "<on_crash>restart</on_crash>" "dumpxml: the on_* actions"
vsh dumpxml vmeta >"$TAP_TMP/vmeta2.xml"
like "$(vsh define "$TAP_TMP/vmeta2.xml")" "Domain 'vmeta' defined" "dumpxml's output defines the same vNode again"
is "$(vsh dumpxml vmeta)" "$dx" "... unchanged"
like "$(py "$code" /dev/stdin <<<"$(sed 's|<on_crash>restart|<on_crash>preserve|' "$TAP_TMP/vmeta.xml")")" \
	"^67 .*<on_crash> 'preserve' is not supported" "<on_crash>preserve: VIR_ERR_CONFIG_UNSUPPORTED saying why"
knob crash 0.5
knob exit 0
vsh start vmeta >/dev/null
ok "grep_wait 'vNode vmeta started again \\(on_poweroff restart\\)'" "<on_poweroff>restart: the guest's own power-off starts it again"
knob exit 125
ok "grep_wait 'vNode vmeta started again \\(on_crash restart\\)'" "<on_crash>restart: a crash starts it again"
knob crash
knob exit
ok "wait_state vmeta '^running'" "... and it runs"
vsh destroy vmeta >/dev/null
sleep 1.5 # a destroyed vNode is not restarted (a restart would come within a second)
is "$(vsh domstate --reason vmeta)" "shut off (destroyed)" "destroy: no restart"
UN=bbbbbbbb-2222-4333-8444-555555555555
xml "测试-vm" $UN 1 >"$TAP_TMP/utf8.xml"
like "$(vsh define "$TAP_TMP/utf8.xml")" "Domain '测试-vm' defined" "a non-ASCII name, as libvirt allows"
like "$(vsh start "测试-vm")" "Domain '测试-vm' started" "... started"
like "$(vsh list --name)" "测试-vm" "... listed"
like "$(vsh destroy "测试-vm")" "Domain '测试-vm' destroyed" "... destroyed"
ok "[ -s '$TAP_TMP/controld-state/domains/测试-vm.xml' ]" "... and kept in the state directory"
like "$(py "$code" /dev/stdin <<<"$(xml 'a/b' $UN 1)")" "^27 .*without '/'" "a name with '/': refused"

# ---- (f) one writer per volume unless shareable --------------------------------------------
mkdir -p "$TAP_TMP/vols"
cluster_smon st-a "$TAP_TMP/vols"
ok "wait_alive 4" "a storage server joined"
"$CTL" --smon "127.0.0.1:$SMON_PORT" volume create shared1 8M >/dev/null
disk() { # volume [extra]
	echo "<disk type='network' device='disk'><source protocol='lego' name='$1'/><target dev='vda' bus='virtio'/>$2</disk>"
}
i=0
for n in vd1 vd2 vs1 vs2; do
	i=$((i + 1))
	extra=
	case $n in vs*) extra="<shareable/>" ;; esac
	xml $n "cccccccc-2222-4333-8444-00000000000$i" 1 "" "$(disk shared1 "$extra")" >"$TAP_TMP/$n.xml"
	vsh define "$TAP_TMP/$n.xml" >/dev/null
done
like "$(vsh dumpxml vs1)" "<shareable/>" "dumpxml keeps <shareable/>"
like "$(vsh start vd1)" "Domain 'vd1' started" "a vNode with volume shared1 attached read-write runs"
out=$(vsh start vd2)
ok "[ $? = 1 ]" "a second vNode attaching it read-write: virsh start fails"
like "$out" "volume 'shared1' \\(disk vda\\) is attached read-write to running vNode 'vd1'" "... naming the volume and the vNode holding it"
like "$(py 'import libvirt,sys
try:
    libvirt.open(sys.argv[1]).lookupByName("vs1").create()
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_message())')" "^55 .*shareable" \
	"a <shareable/> disk next to vd1's exclusive one: VIR_ERR_OPERATION_INVALID"
is "$(vsh domstate vd2)" "shut off" "the refused vNode stays off"
vsh destroy vd1 >/dev/null
like "$(vsh start vs1)" "Domain 'vs1' started" "once vd1 is off: a <shareable/> attachment runs"
like "$(vsh start vs2)" "Domain 'vs2' started" "... and a second <shareable/> one next to it"
like "$(vsh start vd2)" "attached read-write to running vNode 'vs" "an exclusive one next to shared ones: refused"
vsh destroy vs1 >/dev/null
vsh destroy vs2 >/dev/null
like "$(vsh start vd2)" "Domain 'vd2' started" "alone, it runs"
vsh destroy vd2 >/dev/null
done_testing
