#!/usr/bin/env bash
# controlplane.t: vNodes managed with Debian's real virsh and python3-libvirt through
# lego-controld, on a local cluster of 2 lego-pmon processor hosts, 2 lego-mmon memory
# servers and 1 lego-smon storage server: define -> start (GPM host, GMM vRegions on both
# memory servers, GSM disk) -> the guest runs memtest and blktest with most of its RAM
# remote -> dominfo, dommemstat, legoctl's vRegion map -> suspend/resume -> lego-controld
# killed -9 and restarted while the vNode runs (still running, listed, destroyable) ->
# virsh migrate to the other host and legoctl migrate back (refused for an unknown host and a
# vNode that is not running) -> destroy -> undefine; then the same flow through python3-libvirt with the console stream;
# and a lego-vmm killed -9, whose vRegions lego-controld frees.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
GUEST=$BUILD/images/lego-guest.elf
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 61

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'pkill -9 -f "lego-vmm.*$CLUSTER_RUN" 2>/dev/null; cluster_cleanup; rm -rf "$TAP_TMP"' EXIT

controld_start --region-size 8M --stop-grace-ms 3000
ok "[ -n '$CONTROLD_PORT' ]" "lego-controld listening (cluster port $CONTROLD_PORT)"
pmon_start host-a --cores 2 --memory 256M
pmon_start host-b --cores 2 --memory 256M
cluster_mmon mem-a 128M
cluster_mmon mem-b 128M
mkdir -p "$TAP_TMP/vols"
cluster_smon stor-a "$TAP_TMP/vols"
SP=$SMON_PORT
ok "wait_alive 5" "2 processor hosts, 2 memory servers and 1 storage server registered"
comps=$("$CTL" -c "$CONTROLD" components)
like "$comps" "pmon +host-a .* up +0/2 " "legoctl components: host-a up with 0 of 2 cores used"
"$CTL" --smon "127.0.0.1:$SP" volume create disk1 8M >/dev/null
"$CTL" --smon "127.0.0.1:$SP" volume create disk2 8M >/dev/null

domxml() { # name volume idle
	cat <<EOF
<domain type='lego'>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type><kernel>$GUEST</kernel>
    <cmdline>run=memtest,blktest memtest.mode=zipf memtest.size=8M memtest.ops=4000 blktest.size=1M idle=$3</cmdline></os>
  <devices>
    <disk type='network' device='disk'>
      <source protocol='lego' name='$2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
  <metadata>
    <lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
      <lego:excache unit='MiB'>4</lego:excache>
    </lego:vnode>
  </metadata>
</domain>
EOF
}

console_of() { # uuid: the guest console as its processor host keeps it
	cat "$CLUSTER_RUN"/pmon-*/"$1".console 2>/dev/null
}

wait_console() { # uuid regex seconds
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		console_of "$1" | grep -Eq "$2" && return 0
		sleep 0.5
	done
	return 1
}

# ---- virsh ---------------------------------------------------------------------------
domxml vn1 disk1 600 >"$TAP_TMP/vn1.xml"
out=$(lvirsh define "$TAP_TMP/vn1.xml" 2>&1)
like "$out" "Domain 'vn1' defined" "virsh define"
like "$(lvirsh list --all)" "-\s+vn1\s+shut off" "virsh list --all: vn1 shut off"
uuid=$(lvirsh domuuid vn1)
out=$(lvirsh start vn1 2>&1)
like "$out" "Domain 'vn1' started" "virsh start"
id=$(lvirsh domid vn1)
ok "[ '$id' -ge 1 ]" "the running vNode has a domain id ($id)"
is "$(lvirsh domstate vn1)" "running" "virsh domstate: running"
wait_console "$uuid" 'lego-guest: idle' 400
rc=$?
ok "[ $rc = 0 ]" "the guest ran its workloads (console via its processor host)"
[ $rc = 0 ] || diag "$(console_of "$uuid" | tail -n 5)" "$(tail -n 8 "$CLUSTER_RUN"/pmon-*/*.log "$TAP_TMP"/controld.log)"
con=$(console_of "$uuid")
like "$con" "RESULT memtest-zipf PASS .*errors=0" "memtest (zipfian, 8 MiB) passed with an ExCache of 4 MiB of 32 (the rest remote)"
like "$con" "RESULT blktest PASS .*errors=0 .*id=lego-disk1" "blktest passed on the volume the GSM found"
info=$(lvirsh dominfo vn1)
like "$info" "State: +running" "virsh dominfo: running"
like "$info" "Max memory: +32768 KiB" "virsh dominfo: memory from the definition"
cpu=$(printf '%s\n' "$info" | sed -n 's/^CPU time: *\([0-9.]*\)s/\1/p')
ok "awk 'BEGIN{exit !($cpu > 0)}'" "virsh dominfo: CPU time ${cpu}s from the vCPU threads"
mem=$(lvirsh dommemstat vn1)
like "$mem" "actual 32768" "dommemstat actual: the RAM size"
major=$(printf '%s\n' "$mem" | awk '$1 == "major_fault" {print $2}')
out_kib=$(printf '%s\n' "$mem" | awk '$1 == "swap_out" {print $2}')
rss=$(printf '%s\n' "$mem" | awk '$1 == "rss" {print $2}')
ok "[ '${major:-0}' -gt 0 ] && [ '${out_kib:-0}' -gt 0 ]" \
	"dommemstat: remote fetches as major_fault ($major), write-backs as swap_out ($out_kib KiB)"
ok "[ '${rss:-99999}' -le 4096 ]" "dommemstat rss: ExCache-resident memory ($rss KiB) within 4 MiB"
js=$("$CTL" -c "$CONTROLD" --json vnode vn1)
like "$js" '"server": "mem-a".*"server": "mem-b"|"server": "mem-b".*"server": "mem-a"' \
	"legoctl vnode: the GMM spread the 8 MiB vRegions over both memory servers"
host=$(sed -n 's/.*"host": "\(host-[ab]\)".*/\1/p' <<<"$js")
ok "[ -n '$host' ]" "legoctl vnode: the GPM placed it on a processor host ($host)"
like "$js" "\"smon://127.0.0.1:$SP/disk1\"" "legoctl vnode: the disk on the storage server holding it"
like "$js" '"vmm": \{"vnode": [0-9]+.*"remote_fetches": [1-9]' "legoctl vnode: the VMM's fault statistics"
lvirsh suspend vn1 >/dev/null 2>&1
is "$(lvirsh domstate vn1)" "paused" "virsh suspend: paused"
lvirsh resume vn1 >/dev/null 2>&1
is "$(lvirsh domstate vn1)" "running" "virsh resume: running again"
out=$(lvirsh start vn1 2>&1)
like "$out" "already running|is already active" "starting it twice is refused"

# lego-controld dies and comes back: the vNode keeps running where it was.
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
vmm_pids=$(pgrep -f "lego-vmm.*$CLUSTER_RUN" | wc -l)
is "$vmm_pids" "1" "lego-controld killed -9: the VMM still runs"
controld_start --region-size 8M --stop-grace-ms 3000
ok "wait_alive 5" "restarted on the same port: every component registered again"
like "$(lvirsh list --all)" "^\s*$id\s+vn1\s+running" "after the restart vn1 is listed running with id $id"
like "$("$CTL" -c "$CONTROLD" vnodes)" "vn1 +$id +running +$host" "legoctl vnodes: confirmed on $host"
# Live migration to the other processor host with the real virsh, and back with legoctl.
other=host-b
[ "$host" = host-b ] && other=host-a
out=$(lvirsh migrate --live --p2p --verbose vn1 "lego+tcp://$other/system" 2>&1)
rc=$?
is "$rc" 0 "virsh migrate --live --p2p --verbose vn1 to $other ${out:+($(tail -c 200 <<<"$out"))}"
like "$out" "Migration: \[ *100 %\]" "... with virsh's progress to 100 %"
like "$("$CTL" -c "$CONTROLD" vnodes)" "vn1 +$id +running +$other" "legoctl vnodes: vn1 now runs on $other with the same id"
like "$(lvirsh dominfo vn1)" "State: +running" "virsh dominfo follows it: running"
like "$(lvirsh dommemstat vn1)" "actual 32768" "virsh dommemstat follows it"
con=$(cat "$CLUSTER_RUN/pmon-$other/$uuid.console" 2>/dev/null)
like "$con" "RESULT memtest-zipf PASS" "$other's console holds the guest's history"
is "$(grep -c 'lego-guest: abi' <<<"$con")" 1 "... exactly once"
out=$("$CTL" -c "$CONTROLD" migrate vn1 "$host" 2>&1)
rc=$?
is "$rc" 0 "legoctl migrate vn1 $host: back again ${out:+($(tail -c 200 <<<"$out"))}"
like "$out" "downtime" "... reporting the downtime"
like "$("$CTL" -c "$CONTROLD" vnodes)" "vn1 +$id +running +$host" "legoctl vnodes: vn1 back on $host"
out=$(lvirsh migrate --live --p2p vn1 "lego+tcp://nohost/system" 2>&1)
like "$out" "no processor host named 'nohost'" "migration to a host that does not exist: refused"
out=$(lvirsh destroy vn1 2>&1)
like "$out" "Domain 'vn1' destroyed" "virsh destroy after the restart"
is "$(lvirsh domstate vn1 --reason)" "shut off (destroyed)" "domstate --reason: shut off (destroyed)"
out=$(lvirsh migrate --live --p2p vn1 "lego+tcp://$other/system" 2>&1)
like "$out" "domain is not running" "migration of a vNode that is not running: refused"
is "$(pgrep -f "lego-vmm.*$CLUSTER_RUN" | wc -l)" "0" "the VMM is gone"
out=$(lvirsh undefine vn1 2>&1)
like "$out" "Domain 'vn1' has been undefined" "virsh undefine"
is "$(lvirsh list --all --name | grep -c .)" "0" "nothing is defined any more"

# ---- python3-libvirt -----------------------------------------------------------------
domxml vn2 disk2 600 >"$TAP_TMP/vn2.xml"
domxml vn3 disk1 0 >"$TAP_TMP/vn3.xml"
cat >"$TAP_TMP/flow.py" <<'EOF'
import sys, time, libvirt
uri, xml2, xml3 = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
conn = libvirt.open(uri)
print("type", conn.getType())
dom = conn.defineXML(xml2)
dom.create()
print("state", dom.state()[0], "id", dom.ID())
st = conn.newStream(0)
dom.openConsole(None, st, 0)
text, deadline = b"", time.time() + 600
while b"lego-guest: idle" not in text and time.time() < deadline:
    d = st.recv(4096)
    if not d:
        break
    text += d
st.abort()
print("console", "memtest-pass" if b"RESULT memtest-zipf PASS" in text else "memtest-missing",
      "blktest-pass" if b"RESULT blktest PASS" in text else "blktest-missing")
info = dom.info()
print("info state", info[0], "maxmem", info[1], "vcpus", info[3])
ms = dom.memoryStats()
print("memstats major", ms.get("major_fault", -1), "rss", ms.get("rss", -1))
# A second vNode while the first runs: the GPM puts it on the other host; it runs to
# the end and its console stream ends there.
dom3 = conn.defineXML(xml3)
dom3.create()
st3 = conn.newStream(0)
dom3.openConsole(None, st3, 0)
t3 = b""
while True:
    d = st3.recv(4096)
    if not d:
        break
    t3 += d
st3.finish()
for _ in range(100):
    if dom3.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF:
        break
    time.sleep(0.1)
print("vn3", "all-passed" if b"lego-guest: all passed" in t3 else "not-passed",
      "state", dom3.state()[0], "reason", dom3.state()[1])
dom.destroy()
print("destroyed state", dom.state()[0])
dom.undefine()
dom3.undefine()
try:
    conn.lookupByName("vn2")
    print("lookup found")
except libvirt.libvirtError as e:
    print("lookup code", e.get_error_code())
print("capabilities", "<domain type='lego'/>" in conn.getCapabilities())
try:
    conn.getSysinfo()
except libvirt.libvirtError as e:
    print("unsupported code", e.get_error_code(), e.get_error_message())
conn.close()
EOF
py=$(/usr/bin/python3 "$TAP_TMP/flow.py" "$LIBVIRT_URI" "$TAP_TMP/vn2.xml" "$TAP_TMP/vn3.xml" 2>&1)
diag "$py"
like "$py" "type LEGO" "python3-libvirt: connection type LEGO"
like "$py" "state 1 id [0-9]+" "python: defineXML + create: running"
like "$py" "console memtest-pass blktest-pass" "python: console stream carries the guest's results"
like "$py" "info state 1 maxmem 32768 .*vcpus 1" "python: info()"
like "$py" "memstats major [1-9][0-9]* rss [0-9]+" "python: memoryStats() with remote fetches"
like "$py" "vn3 all-passed state 5 reason 1" "python: a second vNode runs to the end: shut off (shutdown), stream ended"
like "$py" "destroyed state 5" "python: destroy"
like "$py" "lookup code 42" "python: undefined vNode: VIR_ERR_NO_DOMAIN"
like "$py" "capabilities True" "python: getCapabilities() describes lego's guests"
like "$py" "unsupported code 3 .*CONNECT_GET_SYSINFO" "python: an unimplemented call is VIR_ERR_NO_SUPPORT, naming it"
h2=$(grep -l 'started vNode vn2 ' "$TAP_TMP"/host-*.log)
h3=$(grep -l 'started vNode vn3 ' "$TAP_TMP"/host-*.log)
ok "[ -n '$h2' ] && [ -n '$h3' ] && [ '$h2' != '$h3' ]" \
	"the GPM put the second concurrent vNode on the other host ($(basename "$h3" .log))"
# A lego-vmm killed with SIGKILL cannot free its vRegions: lego-controld does.
domxml vn4 disk2 600 | sed 's|<cmdline>.*</cmdline>|<cmdline>idle=600</cmdline>|' >"$TAP_TMP/vn4.xml"
lvirsh define "$TAP_TMP/vn4.xml" >/dev/null 2>&1
lvirsh start vn4 >/dev/null 2>&1
mmon_used() { "$CTL" -c "$CONTROLD" --json components | grep -o '"kind": "mmon"[^}]*"used_bytes": [0-9]*' |
	sed 's/.*"used_bytes": //' | awk '{s += $1} END {print s + 0}'; }
for _ in $(seq 60); do [ "$(mmon_used)" -gt 0 ] && break; sleep 0.5; done
is "$(mmon_used)" "$((32 << 20))" "vn4's 32 MiB of vRegions are on the memory servers"
pkill -9 -f "lego-vmm.*$CLUSTER_RUN"
for _ in $(seq 60); do [ "$(lvirsh domstate vn4 --reason)" = "shut off (crashed)" ] && break; sleep 0.5; done
is "$(lvirsh domstate vn4 --reason)" "shut off (crashed)" "its lego-vmm killed -9: shut off (crashed)"
for _ in $(seq 60); do [ "$(mmon_used)" = 0 ] && break; sleep 0.5; done
is "$(mmon_used)" "0" "lego-controld freed the vRegions the killed VMM left behind"
like "$(cat "$TAP_TMP/controld.log")" "vNode vn4: freed [0-9]+ vRegion cop(y|ies) it left on memory server" "and said so"
lvirsh undefine vn4 >/dev/null 2>&1
logs=$(cat "$TAP_TMP"/*.log "$CLUSTER_RUN"/pmon-*/*.log 2>/dev/null)
unlike "$logs" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report from any daemon or VMM"
done_testing
