#!/usr/bin/env bash
# reclaim.t: however a vNode ends, every vRegion copy it had is freed on every memory server
# that is up, and a server that was unreachable then is swept when it is back, even after
# lego-controld restarted (what it owes is in its state directory). Without KVM: lego-pmon
# runs mem_churn (lego-vmm's pager and remote memory under a thread that rewrites its RAM) as
# each vNode, on real lego-mmon servers: a clean shutdown (lego-vmm frees its own), a crash
# (SIGQUIT), kill -9, exit 125 after a vRegion was lost (factor 1, one of its servers
# frozen: the copies on the others would leak), and its host lost (lego-pmon and its
# lego-vmm killed: the host is lost after --pmon-loss-ms). All under ASan+UBSan.
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
CHURN=$BUILD/asan/bin/mem_churn
tap_tmpdir
plan 25

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'kill -CONT "${FROZEN:-0}" 2>/dev/null; cluster_cleanup; tap_keep_logs reclaim; rm -rf "$TAP_TMP"' EXIT

ctl() { "$CTL" -c "$CONTROLD" "$@" 2>&1; }
vsh() { timeout 30 virsh -c "$LIBVIRT_URI" "$@" 2>&1; }
# What the servers that are up hold (their heartbeats), in bytes, and what is owed there.
held() {
	"$CTL" -c "$CONTROLD" --json pool | python3 -c '
import json, sys
print(sum(s["used_bytes"] for s in json.load(sys.stdin)["servers"] if s["alive"]))'
}
owed() { "$CTL" -c "$CONTROLD" --json pool | python3 -c 'import json, sys; print(json.load(sys.stdin)["owed_copies"])'; }
servers_of() { # vNode: the memory servers holding its copies
	"$CTL" -c "$CONTROLD" --json vnode "$1" | python3 -c '
import json, sys
print(" ".join(sorted({c for r in json.load(sys.stdin)["regions"] for c in r["copies"]})))'
}
xml() { # name uuid metadata
	cat <<EOF
<domain type='lego'><name>$1</name><uuid>$2</uuid>
  <memory unit='MiB'>16</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/bin/true</kernel></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>4</lego:excache>$3</lego:vnode></metadata>
</domain>
EOF
}
start_vnode() { # name uuid host [metadata]: running, its RAM open; sets VPID (its lego-vmm)
	xml "$1" "$2" "<lego:placement processor='$3'/>$4" >"$TAP_TMP/$1.xml"
	vsh define "$TAP_TMP/$1.xml" >/dev/null
	vsh start "$1" | grep -q "Domain '$1' started" &&
		wait_for "cat $CLUSTER_RUN/pmon-$3/$2.console" "^started" || return 1
	VPID=$(sed -n "s/.*started vNode $1 ($2, domid [0-9]*) pid \([0-9]*\).*/\1/p" "$TAP_TMP/$3.log" | tail -n 1)
	wait_for held '^[1-9]' # the servers' heartbeats show its copies

}
# The vNode's copies all freed: the servers that are up hold nothing, nothing is owed there.
all_freed() { wait_for held '^0$' && wait_for owed '^0$'; }

controld_start --region-size 2M --heartbeat-ms 200 --mmon-loss-ms 600 --pmon-loss-ms 2000
pmon_start host-a --cores 8 --memory 1G --vmm "$CHURN"
pmon_start host-b --cores 8 --memory 1G --vmm "$CHURN"
HOSTB_PID=$PMON_PID
declare -A MPID
for m in mem-a mem-b mem-c; do
	cluster_mmon "$m" 64M
	MPID[$m]=$MMON_PID
done
ok "wait_alive 5" "lego-controld, two processor hosts and three memory servers"

# ---- a clean stop: lego-vmm frees its own; nothing is left, nothing owed ---------------------
ok "start_vnode clean aaaaaaaa-0000-4000-8000-00000000c001 host-a \"<lego:replication factor='2'/>\"" \
	"a vNode with factor 2 runs (its 16 MiB twice on the servers)"
vsh shutdown clean >/dev/null
ok "wait_for 'vsh domstate clean' 'shut off'" "virsh shutdown: it stops (status 143)"
ok "all_freed" "every copy freed on every server"

# ---- a crash and kill -9: lego-controld frees what lego-vmm left ------------------------------
ok "start_vnode crash aaaaaaaa-0000-4000-8000-00000000c002 host-a \"<lego:replication factor='2'/>\"" \
	"another vNode runs"
kill -QUIT "$VPID"
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode crash \\(id [0-9]+\\) on host-a exited with status 131'" \
	"its lego-vmm crashes (SIGQUIT, a core dump: status 131)"
ok "all_freed" "lego-controld freed its copies"
like "$(cat "$TAP_TMP/controld.log")" "vNode crash: freed [0-9]+ vRegion cop(y|ies) it left on memory server mem-" \
	"... saying so, per server"
ok "start_vnode killed aaaaaaaa-0000-4000-8000-00000000c003 host-a \"<lego:replication factor='2'/>\"" \
	"another vNode runs"
kill -9 "$VPID"
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode killed \\(id [0-9]+\\) on host-a exited with status 137'" \
	"its lego-vmm is killed -9 (status 137)"
ok "all_freed" "lego-controld freed its copies"

# ---- exit 125 after a lost vRegion, its frozen server swept when back, across a restart ------
ok "start_vnode lost aaaaaaaa-0000-4000-8000-00000000c004 host-a" "a vNode with factor 1 runs"
read -r -a on <<<"$(servers_of lost)"
ok "[ ${#on[@]} -ge 2 ]" "its vRegions are on several servers (${on[*]})"
FROZEN=${MPID[${on[0]}]}
kill -STOP "$FROZEN"
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode lost \\(id [0-9]+\\) on host-a exited with status 125'" \
	"${on[0]} frozen: a vRegion of the vNode has no copy left, it stops (exit 125)"
ok "wait_for held '^0\$'" "the copies on the servers that are up are freed"
ok "[ \$(owed) -gt 0 ]" "what is on ${on[0]} (down) is owed: $(owed) copies"
like "$(cat "$TAP_TMP/controld-state/owed")" "^[0-9]+ lost [0-9]+ 2097152 8 ${on[0]} " \
	"... recorded in the state directory"
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
controld_start --region-size 2M --heartbeat-ms 200 --mmon-loss-ms 600 --pmon-loss-ms 2000
ok "wait_for 'cat $TAP_TMP/controld.log' 'vRegion cop(y|ies) on memory servers still to free \\(from the state directory\\)'" \
	"lego-controld killed and restarted: it still owes them"
kill -CONT "$FROZEN"
FROZEN=
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode lost: freed [0-9]+ vRegion cop(y|ies) it left on memory server ${on[0]}'" \
	"${on[0]} back: swept"
ok "all_freed" "... it holds nothing any more, nothing is owed"

# ---- its host lost: lego-pmon and its lego-vmm killed ---------------------------------------
ok "start_vnode gone aaaaaaaa-0000-4000-8000-00000000c005 host-b \"<lego:replication factor='2'/>\"" \
	"a vNode runs on host-b"
{ kill -9 "$HOSTB_PID" "$VPID" && wait "$HOSTB_PID"; } 2>/dev/null
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode gone \\(id [0-9]+\\): its processor host host-b is lost'" \
	"host-b dies with its lego-vmm: after --pmon-loss-ms it is lost"
like "$(vsh domstate gone --reason)" "shut off \\(crashed\\)" "the vNode is shut off (crashed)"
ok "all_freed" "its copies are freed on every server"

unlike "$(cat "$TAP_TMP"/*.log "$CLUSTER_RUN"/pmon-*/*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" \
	"no sanitizer report"
done_testing
