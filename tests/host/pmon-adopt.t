#!/usr/bin/env bash
# pmon-adopt.t: a lego-pmon killed with SIGKILL leaves its lego-vmm processes running, and the
# next one adopts them (issue 20, item 7): against the real lego-controld with Debian's
# virsh, two processor hosts and a fake lego-vmm that migrates (tests/lib/migrating-vmm),
# under mutual TLS. The adopted vNodes are inspected, paused, migrated and destroyed; a vNode
# that ended while its lego-pmon was down is reported with the status it left; run files
# naming a pid that another process has now (another start time, or not a lego-vmm) adopt
# nothing and signal nothing.
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 29

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
OTHERS=()
trap 'kill -9 "${OTHERS[@]}" 2>/dev/null; cluster_cleanup; rm -rf "$TAP_TMP"' EXIT

FAKE=$REPO/tests/lib/migrating-vmm
export FAKE_KNOBS=$TAP_TMP/knobs
mkdir -p "$FAKE_KNOBS"
controld_start
pmon_start host-a --cores 3 --memory 512M --vmm "$FAKE"
PA=$PMON_PID
pmon_start host-b --cores 2 --memory 256M --vmm "$FAKE"
cluster_mmon mem-a 256M
ok "wait_alive 3" "two processor hosts and a memory server registered"
U=$LIBVIRT_URI
vsh() { timeout 30 virsh -c "$U" "$@" 2>&1; }
RUNA=$CLUSTER_RUN/pmon-host-a

define() { # name uuid: a 1-vCPU vNode placed on host-a
	cat >"$TAP_TMP/$1.xml" <<EOF
<domain type='lego'><name>$1</name><uuid>$2</uuid>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>$BUILD/images/lego-guest.elf</kernel></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>16</lego:excache><lego:placement processor='host-a'/></lego:vnode></metadata>
</domain>
EOF
	vsh define "$TAP_TMP/$1.xml" >/dev/null && vsh start "$1" >/dev/null
}
wait_vnode() { # name regex: legoctl's first line about it matches within 30 s
	for _ in $(seq 300); do
		"$CTL" -c "$CONTROLD" vnode "$1" 2>/dev/null | head -n 1 | grep -Eq "$2" && return 0
		sleep 0.1
	done
	diag "$("$CTL" -c "$CONTROLD" vnode "$1" 2>&1 | head -n 3)"
	return 1
}
vmm_pid() { # uuid: the pid its run file records
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$RUNA/$1.run" 2>/dev/null
}
A1=aaaaaaaa-0000-4000-8000-000000000001
A2=aaaaaaaa-0000-4000-8000-000000000002
A3=aaaaaaaa-0000-4000-8000-000000000003
define ad1 $A1
define ad2 $A2
define ad3 $A3
ok "wait_vnode ad1 'running, id [0-9]+ on host-a' && wait_vnode ad2 'running' && wait_vnode ad3 'running'" \
	"three vNodes run on host-a"
ID1=$(vsh domid ad1 | head -n 1)
P1=$(vmm_pid $A1) P2=$(vmm_pid $A2) P3=$(vmm_pid $A3)
ok "[ -n '$P1' ] && [ -n '$P2' ] && [ -n '$P3' ] && grep -q '\"start_time\"' '$RUNA/$A1.run'" \
	"each has a run file with its pid and start time"

# lego-pmon dies; its lego-vmm processes do not.
kill -9 "$PA"
wait "$PA" 2>/dev/null
sleep 0.5
ok "kill -0 $P1 && kill -0 $P2 && kill -0 $P3" "lego-pmon killed with SIGKILL: its three lego-vmm run on"
# While it is down: ad2's lego-vmm ends (SIGTERM: it leaves status 143), and run files for
# vNodes lego-controld never heard of name a pid that is gone, one that another process
# has now (another start time) and one with the right start time that is not a lego-vmm.
kill -TERM "$P2"
for _ in $(seq 100); do kill -0 "$P2" 2>/dev/null || break; sleep 0.1; done
sleep 300 &
SL=$!
OTHERS+=("$SL")
ST=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$SL/stat")
runfile() { # uuid pid start_time
	printf '{"uuid":"%s","name":"ghost","domid":900,"vnode_uid":"900","vcpus":1,"excache_bytes":16777216,"pid":%s,"start_time":%s,"incoming":false,"migrating":false,"taps":0}' \
		"$1" "$2" "$3" >"$RUNA/$1.run"
}
G1=bbbbbbbb-0000-4000-8000-000000000001
G2=bbbbbbbb-0000-4000-8000-000000000002
G3=bbbbbbbb-0000-4000-8000-000000000003
runfile $G1 4194000 12345
runfile $G2 "$SL" $((ST + 1))
runfile $G3 "$SL" "$ST"
echo '{"uuid": "not json' >"$RUNA/cccccccc-0000-4000-8000-000000000001.run"

pmon_start host-a --cores 3 --memory 512M --vmm "$FAKE"
PA=$PMON_PID
ok "wait_alive 3" "lego-pmon restarted and registered again"
log=$(cat "$TAP_TMP/host-a.log")
like "$log" "adopted vNode ad1 \\($A1, domid $ID1\\) pid $P1, running" "it adopted ad1's lego-vmm"
like "$log" "adopted vNode ad3 \\($A3, domid [0-9]+\\) pid $P3, running" "... and ad3's"
like "$log" "vNode ad2 \\($A2, domid [0-9]+\\) ended while lego-pmon was down \\(pid $P2 is gone\\): exit status 143" \
	"ad2, which ended meanwhile: reported with the status its lego-vmm left"
like "$log" "vNode ghost \\($G2, .*pid $SL is another process now .*not adopted" \
	"a pid reused by another process (another start time): not adopted"
like "$log" "vNode ghost \\($G3, .*pid $SL does not run lego-vmm with --control .*not adopted" \
	"a pid with the right start time but not a lego-vmm: not adopted"
like "$log" "cccccccc-0000-4000-8000-000000000001.run: not JSON.*removed" "a run file that is not JSON: removed"
ok "kill -0 $SL" "the process with the reused pid was not signalled"

ok "wait_vnode ad1 'running, id $ID1 on host-a'" "legoctl vnode: ad1 runs on host-a, with its domain id"
like "$(vsh dominfo ad1)" "State: +running" "virsh dominfo ad1: running"
like "$(vsh domstate ad1 --reason)" "running" "virsh domstate ad1"
like "$(vsh dommemstat ad1)" "rss 64" "virsh dommemstat: its lego-vmm answers through the new lego-pmon"
ok "wait_vnode ad2 'shut off'" "ad2: shut off"
like "$(vsh domstate ad2 --reason)" "shut off \\(crashed\\)" "... as crashed (status 143, no stop asked)"
for _ in $(seq 100); do
	[ -e "$RUNA/$G1.run" ] || [ -e "$RUNA/$G2.run" ] || [ -e "$RUNA/$G3.run" ] || [ -e "$RUNA/$A2.run" ] || break
	sleep 0.1
done
ok "[ ! -e '$RUNA/$G1.run' ] && [ ! -e '$RUNA/$G2.run' ] && [ ! -e '$RUNA/$G3.run' ] && [ ! -e '$RUNA/$A2.run' ]" \
	"the run files of what ended were removed once lego-controld forgot those records"
like "$(vsh suspend ad1; vsh domstate ad1)" "paused" "virsh suspend of the adopted vNode: paused"
like "$(vsh resume ad1; vsh domstate ad1)" "running" "virsh resume: running"

# Migrated away, then destroyed.
timeout 60 virsh -c "$U" migrate --live --p2p ad1 lego+tcp://host-b/system >/dev/null 2>&1
is "$?" 0 "virsh migrate of the adopted vNode to host-b"
ok "wait_vnode ad1 'running, id $ID1 on host-b'" "... it runs on host-b"
for _ in $(seq 100); do kill -0 "$P1" 2>/dev/null || break; sleep 0.1; done
like "$(cat "$TAP_TMP/host-a.log")" "vNode ad1 \\($A1\\) pid $P1 exited with status 126: migrated" \
	"host-a saw its adopted source exit 126 (pidfd, exit file): migrated"
code='
import libvirt, sys, time
c = libvirt.open(sys.argv[1])
st = c.newStream(0)
c.lookupByName("ad3").openConsole(None, st, 0)
text, end = b"", time.time() + 10
while b"hello" not in text and time.time() < end:
    text += st.recv(4096)
st.abort()
print(text.decode().strip())'
like "$(timeout 30 /usr/bin/python3 -c "$code" "$U" 2>&1)" "fake guest [0-9]+ on host-a: hello" \
	"the adopted vNode's console (python3-libvirt openConsole)"
like "$(vsh destroy ad3)" "Domain 'ad3' destroyed" "virsh destroy of the other adopted vNode"
for _ in $(seq 100); do kill -0 "$P3" 2>/dev/null || break; sleep 0.1; done
ok "! kill -0 $P3 2>/dev/null && wait_vnode ad3 'shut off'" "... its lego-vmm is gone, the vNode shut off"
unlike "$(cat "$TAP_TMP/controld.log")" "vNode ad[13] .*(marking it crashed|is lost)" \
	"lego-controld never took the adopted vNodes for lost"
vsh destroy ad1 >/dev/null
unlike "$(cat "$TAP_TMP"/*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"
