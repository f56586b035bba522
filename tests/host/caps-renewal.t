#!/usr/bin/env bash
# caps-renewal.t: a vNode's capabilities expire and lego-controld renews them before they
# lapse, without KVM: lego-controld signs capabilities that last 10 s, lego-pmon runs
# mem_churn (lego-vmm's pager, remote memory and control socket under a thread that
# verifies and rewrites its RAM) with them on a lego-mmon that checks every request. The
# renewals reach lego-vmm through lego-pmon's VM_CTL and the memory server sees each; the
# vNode works on for several lifetimes. With lego-controld gone nothing renews them: the
# server refuses them once expired, saying so, and the vNode stops naming why.
. "$(dirname "$0")/../lib/tap.sh"
CHURN=$BUILD/asan/bin/mem_churn
ASK=$BUILD/release/bin/vmm_ask
tap_tmpdir
plan 10

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
VPID=
stop_vnode() { # its lego-pmon reaps it (it is the parent)
	[ -n "$VPID" ] && kill -9 "$VPID" 2>/dev/null || return 0
	for _ in $(seq 50); do
		[ -e "/proc/$VPID" ] || break
		sleep 0.1
	done
}
trap 'stop_vnode; cluster_cleanup; tap_keep_logs caps-renewal; rm -rf "$TAP_TMP"' EXIT

vsh() { timeout 20 virsh -c "$LIBVIRT_URI" "$@" 2>&1; }
wait_for() { # COMMAND REGEX [SECONDS]
	local out
	for _ in $(seq $((${3:-20} * 10))); do
		out=$(eval "$1" 2>&1)
		grep -Eq -- "$2" <<<"$out" && return 0
		sleep 0.1
	done
	diag "waited for /$2/ in: $(tail -n 5 <<<"$out")"
	return 1
}
U=bbbbbbbb-0000-4000-8000-000000000001
cat >"$TAP_TMP/rn.xml" <<XML
<domain type='lego'><name>rn</name><uuid>$U</uuid>
  <memory unit='MiB'>16</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/bin/true</kernel></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>4</lego:excache></lego:vnode></metadata>
</domain>
XML

controld_start --region-size 2M --heartbeat-ms 200 --capability-lifetime 10
pmon_start host-a --cores 8 --memory 1G --vmm "$CHURN"
RUN=$CLUSTER_RUN/pmon-host-a
cluster_mmon mem-a 64M
ok "wait_alive 2" "a processor host and a memory server registered"
vsh define "$TAP_TMP/rn.xml" >/dev/null
ok "vsh start rn | grep -q started && wait_for 'cat $RUN/$U.console' '^started'" \
	"a vNode starts with lego-controld's capabilities (mem_churn as its lego-vmm)"
like "$(cat "$TAP_TMP/mem-a.log")" "presents capability [0-9a-f]+ \(open,create,read,write,close,state,stat; vRegions 0..7, quota 16 MiB; expires in [0-9]+ s\)" \
	"the memory server checked them: the vNode's 8 vRegions, 16 MiB"
VPID=$(sed -n 's/.*started vNode rn .* pid \([0-9]*\)$/\1/p' "$TAP_TMP/host-a.log" | tail -n 1)
hdr=$(grep -a -- '--- lego-pmon' "$RUN/$U.log")
ok "grep -q -- '--capability /dev/fd/4' <<<\"\$hdr\" && ! grep -q -- '--capability 1:' <<<\"\$hdr\"" \
	"its lego-vmm's command line (in its log) names the memory file, never the capabilities"
faults() { "$ASK" "$RUN/$U.sock" stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["pager"]["faults"])'; }
f1=$(faults)
ok "wait_for 'grep -c \"vNode rn: memory capability [0-9a-f]* renewed for 10 s\" $TAP_TMP/controld.log' '^[3-9]' 40" \
	"lego-controld renewed them through lego-pmon before each lapsed (3 renewals)"
like "$(cat "$TAP_TMP/mem-a.log")" "presents capability [0-9a-f]+ renewed \(expires in" \
	"lego-vmm showed each renewal to the memory server"
f2=$(faults)
ok "[ ${f2:-0} -gt ${f1:-0} ] && ! grep -q 'expired' $TAP_TMP/mem-a.log" \
	"the vNode works on past three lifetimes ($f1 -> $f2 faults served), none refused as expired"
# lego-controld gone: nothing renews them any more.
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
ok "wait_for 'cat $TAP_TMP/mem-a.log' 'refused: capability expired: capability [0-9a-f]+ expired' 30" \
	"without lego-controld they lapse: the memory server refuses them as expired"
ok "wait_for 'cat $RUN/$U.log' 'capability expired' 30" \
	"... and the vNode's pager stops, naming why"
unlike "$(cat "$TAP_TMP/mem-a.log" "$TAP_TMP/controld.log")" \
	"ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"
