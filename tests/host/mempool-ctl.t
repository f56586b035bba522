#!/usr/bin/env bash
# mempool-ctl.t: the memory pool as lego-controld runs it, without KVM: lego-pmon runs
# mem_churn (lego-vmm's pager, remote memory and control socket under a thread that verifies
# and rewrites its RAM) as each vNode, on real lego-mmon servers, so region-add, FILL
# server to server, RSTAT, region-live, region-drop and RELEASE really happen. A vNode with
# replication factor 2 gets copies on distinct servers (virsh, legoctl, its run file); a
# server that joins takes a new vNode's vRegions; a drain under load moves every copy off a
# server (progress, report, the server ends empty, the old server released them); drains
# refused for an unknown server and for lack of room; a rebalance evens out use;
# lego-controld killed and a step left half done is cleaned up by the reconcile; kill -9
# of a server with factor 2 (the vNode runs on, the factor is restored), with no room left
# (re-replication waits, then uses a server that joins), and with factor 1 (the vNode stops
# naming the server, and is marked crashed; the server frozen, so that lego-vmm hears it from
# lego-controld). Every byte verified by mem_churn at the end.
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
CHURN=$BUILD/asan/bin/mem_churn
ADMIN=$BUILD/release/bin/mem_admin
ASK=$BUILD/release/bin/vmm_ask
tap_tmpdir
plan 74

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
keep_vnode_logs() { # each vNode's lego-vmm log and console, for tap_keep_logs
	for f in "$CLUSTER_RUN"/pmon-host-a/*.log "$CLUSTER_RUN"/pmon-host-a/*.console; do
		[ -f "$f" ] && cp "$f" "$TAP_TMP/vnode-$(basename "$f").txt"
	done
}
trap 'keep_vnode_logs; cluster_cleanup; tap_keep_logs mempool-ctl; rm -rf "$TAP_TMP"' EXIT

ctl() { "$CTL" -c "$CONTROLD" "$@" 2>&1; }
vsh() { timeout 20 virsh -c "$LIBVIRT_URI" "$@" 2>&1; }
# Every vRegion's copies, primary first: "mem-a+mem-b mem-b+mem-a ...".
copies() {
	"$CTL" -c "$CONTROLD" --json vnode "$1" | python3 -c '
import json, sys
print(" ".join("+".join(r["copies"]) for r in json.load(sys.stdin)["regions"]))'
}
# Every region has two copies on distinct servers, none of them in $2 (a regex).
two_distinct() {
	python3 -c '
import re, sys
regions = sys.argv[1].split()
ok = regions and all(len(set(r.split("+"))) == 2 == len(r.split("+")) and
                     not any(re.fullmatch(sys.argv[2], s) for s in r.split("+")) for r in regions)
sys.exit(0 if ok else 1)' "$1" "${2:-none}"
}
held_mib() { # what the memory servers' heartbeats say they hold, in MiB
	"$CTL" -c "$CONTROLD" --json pool | python3 -c '
import json, sys
print(sum(s["used_bytes"] for s in json.load(sys.stdin)["servers"]) >> 20)'
}
mmon_json() { # name field: a memory server's figure from legoctl --json pool
	"$CTL" -c "$CONTROLD" --json pool | python3 -c '
import json, sys
print([s for s in json.load(sys.stdin)["servers"] if s["name"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}
xml() { # name uuid [metadata]
	cat <<EOF
<domain type='lego'><name>$1</name><uuid>$2</uuid>
  <memory unit='MiB'>16</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/bin/true</kernel></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>4</lego:excache>$3</lego:vnode></metadata>
</domain>
EOF
}
start_vnode() { # name uuid [metadata]: defined and started, running with its RAM open
	xml "$@" >"$TAP_TMP/$1.xml"
	vsh define "$TAP_TMP/$1.xml" >/dev/null
	vsh start "$1" | grep -q "Domain '$1' started" &&
		wait_for "ctl vnode $1 | head -n 1" "running, id [0-9]+ on host-a" &&
		wait_for "cat $RUN/$2.console" "^started"
}

controld_start --region-size 2M --heartbeat-ms 200 --mmon-loss-ms 600
pmon_start host-a --cores 8 --memory 1G --vmm "$CHURN"
RUN=$CLUSTER_RUN/pmon-host-a
cluster_mmon mem-a 64M
PA=$MMON_PID A=127.0.0.1:$MMON_PORT
cluster_mmon mem-b 64M
PB=$MMON_PID B=127.0.0.1:$MMON_PORT
ok "wait_alive 3" "a processor host and two memory servers registered"

# ---- replication factor 2 from the domain XML ------------------------------------------
U_REP=aaaaaaaa-0000-4000-8000-000000000001
ok "start_vnode rep $U_REP \"<lego:replication factor='2'/>\"" \
	"a vNode with <lego:replication factor='2'/> starts (mem_churn as its lego-vmm)"
c=$(copies rep)
ok "two_distinct '$c'" "each of its vRegions has two copies on distinct servers ($c)"
like "$c" "mem-a\\+mem-b" "... some with mem-a as the primary"
like "$c" "mem-b\\+mem-a" "... some with mem-b: primaries spread"
RUNF=$TAP_TMP/controld-state/run/$U_REP.run
like "$(cat "$RUNF")" $'owners 0\\+1,1\\+0,.*\nreplication 2\n' "the run file records every copy and the factor"
like "$(grep '^arg' "$RUNF" | tr '\n' ' ')" "arg --region-owners arg 0\\+1,1\\+0," \
	"lego-vmm was started with --region-owners naming both copies"
like "$(vsh dumpxml rep)" "<lego:replication factor='2'/>" "virsh dumpxml keeps the factor"
like "$(ctl vnode rep)" "replication factor 2: every vRegion has its copies" \
	"legoctl vnode: the factor, and every vRegion has it"
like "$(ctl vnode rep)" "  0 +mem-[ab]\\+mem-[ab] +0x0-0x200000" "legoctl vnode: vRegion 0's copies, primary first"
UID_REP=$(sed -n 's/^uid //p' "$RUNF")
xml rep3 aaaaaaaa-0000-4000-8000-000000000003 "<lego:replication factor='3'/>" >"$TAP_TMP/rep3.xml"
vsh define "$TAP_TMP/rep3.xml" >/dev/null
like "$(vsh start rep3)" "replication factor 3 needs 3 memory servers that are alive and not draining, and there are 2" \
	"factor 3 on two memory servers: refused, saying why"

# ---- a memory server joins: its capacity is used at once -------------------------------
cluster_mmon mem-c 64M
PC=$MMON_PID C=127.0.0.1:$MMON_PORT
ok "wait_alive 4" "a third memory server joins"
like "$(ctl pool)" "mem-c +127\\.0\\.0\\.1:[0-9]+ +up +64 +0\\.0 +0\\.0 +0% +0" "legoctl pool: mem-c up and empty"
ok "start_vnode fresh aaaaaaaa-0000-4000-8000-000000000002" "a new vNode (factor 1) starts"
is "$(copies fresh)" "mem-c mem-c mem-c mem-c mem-c mem-c mem-c mem-c" \
	"the GMM put every one of its vRegions on the new server (the most room)"
ok "vsh destroy fresh >/dev/null" "it is destroyed again"

# ---- drain mem-b while rep's mem_churn rewrites its RAM ---------------------------------
"$CTL" -c "$CONTROLD" mmon drain mem-b >"$TAP_TMP/drain.out" 2>"$TAP_TMP/drain.err"
is "$?" 0 "legoctl mmon drain mem-b: exit 0"
like "$(cat "$TAP_TMP/drain.out")" \
	"^memory server mem-b drained: 8 vRegion copies \\(16\\.0 MiB\\) moved in [0-9.]+ s \\([0-9.]+ MiB/s\\); it now reports 0\\.0 MiB in use: it can be stopped" \
	"the report: copies, MiB, seconds, MiB/s, and the server is empty"
like "$(cat "$TAP_TMP/drain.err")" "draining mem-b: [0-9] of 8 copies, [0-9.]+ of 16\\.0 MiB \\([0-9]+%\\); moving vNode rep's vRegion [0-7] to mem-c" \
	"progress lines on stderr (not a terminal), one per step"
c=$(copies rep)
ok "two_distinct '$c' mem-b" "rep's vRegions all have two copies, none on mem-b ($c)"
is "$(mmon_json mem-b used_bytes)" 0 "mem-b's heartbeat shows 0 bytes in use"
like "$(ctl pool)" "mem-b +127\\.0\\.0\\.1:[0-9]+ +draining +64 +0\\.0 +0\\.0 +0% +0" \
	"legoctl pool: mem-b draining, holding nothing"
is "$(grep -c "moved to mem-c@$C" "$TAP_TMP/mem-b.log")" 8 "mem-b RELEASEd all 8 copies, naming mem-c as their new home"
like "$("$ADMIN" "$B" "$UID_REP" rstat 0 2>&1)" "status no such region" "mem-b holds no vRegion of rep any more"
vlog=$RUN/$U_REP.log
order=$(grep -oE "control: region-(add|live|drop) 3@[0-9.:]+" "$vlog" | tr '\n' ' ')
is "$order" "control: region-add 3@$C control: region-live 3@$C control: region-drop 3@$B " \
	"lego-vmm saw region-add, region-live and region-drop, in that order"
like "$(ctl vnode rep)" "running, id [0-9]+ on host-a" "rep ran on through the drain"
unlike "$(grep '^arg' "$RUNF")" "$B" "the run's recorded lego-vmm options (a migration's) no longer name mem-b"
xml late aaaaaaaa-0000-4000-8000-000000000004 "<lego:placement memory='mem-b'/>" >"$TAP_TMP/late.xml"
vsh define "$TAP_TMP/late.xml" >/dev/null
like "$(vsh start late)" "placement hint names memory server 'mem-b', which is draining" \
	"nothing new goes on a draining server"

# ---- refusals ---------------------------------------------------------------------------
out=$(ctl mmon drain mem-z)
ok "[ $? = 1 ] && grep -q \"no memory server named 'mem-z'\" <<<\"\$out\"" "a drain of an unknown server: exit 1, naming it"
out=$(ctl mmon drain mem-a)
ok "[ $? = 1 ] && grep -q \"cannot drain memory server mem-a: vNode rep's vRegion [0-9] (2 MiB) has no other memory server with room that holds no copy of it yet\" <<<\"\$out\"" \
	"a drain the others have no room for: refused up front, saying which vRegion"
like "$(ctl pool)" "mem-a +127\\.0\\.0\\.1:[0-9]+ +up " "... and mem-a was not marked draining"
out=$(ctl mmon undrain mem-a)
ok "[ $? = 1 ] && grep -q 'memory server mem-a is not draining' <<<\"\$out\"" "undrain of a server that is not draining: refused"
out=$(ctl mmon drain 'bad name')
ok "[ $? = 64 ]" "a name that is not a server's name: usage error"

# ---- rebalance ----------------------------------------------------------------------------
like "$(ctl mmon undrain mem-b)" "memory server mem-b is no longer draining: it takes new vRegions" \
	"legoctl mmon undrain mem-b"
out=$(ctl pool rebalance)
ok "[ $? = 0 ]" "legoctl pool rebalance: exit 0"
like "$out" "memory pool rebalanced: [1-9][0-9]* vRegion copies \\([0-9.]+ MiB\\) moved in [0-9.]+ s \\([0-9.]+ MiB/s\\); spread between the fullest and the emptiest server 25\\.0% -> [0-3]\\.[0-9]%" \
	"the report: copies moved and the spread before and after"
placed=$("$CTL" -c "$CONTROLD" --json pool | python3 -c '
import json, sys
p = [s["placed_bytes"] >> 20 for s in json.load(sys.stdin)["servers"]]
print(max(p) - min(p), sum(p))')
is "$placed" "2 32" "the three servers hold within one 2 MiB vRegion of each other (32 MiB in all)"
c=$(copies rep)
ok "two_distinct '$c'" "rep's copies stay on distinct servers ($c)"

# ---- a killed lego-vmm's copies are freed on every server -----------------------------------
U_K=aaaaaaaa-0000-4000-8000-000000000006
ok "start_vnode k2 $U_K \"<lego:replication factor='2'/>\"" "another vNode with factor 2 starts"
kpid=$(sed -n "s/.*started vNode k2 ($U_K, domid [0-9]*) pid \([0-9]*\).*/\1/p" "$TAP_TMP/host-a.log")
kill -9 "$kpid"
freed_k2() { # the copies lego-controld says it freed for k2
	grep -o 'vNode k2: freed [0-9]* vRegion cop' "$TAP_TMP/controld.log" | awk '{ n += $4 } END { print n + 0 }'
}
ok "wait_for freed_k2 '^16$'" \
	"its lego-vmm killed with SIGKILL: lego-controld freed all 16 copies of its 8 vRegions"
ok "wait_for held_mib '^32$'" \
	"... the servers' heartbeats say only rep's 32 MiB are held"

# ---- lego-controld killed with a step half done: the reconcile cleans up ----------------
kill -9 "$CONTROLD_PID"
wait "$CONTROLD_PID" 2>/dev/null
vlines=$(wc -l <"$vlog")
free_srv=$(python3 -c '
import sys
srv = {"mem-a": sys.argv[2], "mem-b": sys.argv[3], "mem-c": sys.argv[4]}
print([a for n, a in srv.items() if n not in sys.argv[1].split()[0].split("+")][0])' "$c" "$A" "$B" "$C")
like "$("$ASK" "$RUN/$U_REP.sock" "region-add 0@$free_srv")" '"done": "add"' \
	"while lego-controld is down, a copy joins as a step begun before a crash would leave it"
controld_start --region-size 2M --heartbeat-ms 200 --mmon-loss-ms 600
ok "wait_for 'ctl vnode rep | head -n 1' 'running, id [0-9]+ on host-a'" "lego-controld restarted: rep confirmed again"
ok "wait_for 'grep -c \"joining copy on $free_srv\" $TAP_TMP/controld.log' '^1$'" \
	"the reconcile found the joining copy no step fills"
ok "wait_for 'tail -n +$vlines $vlog | grep -c \"control: region-drop 0@$free_srv\"' '^1$'" "... lego-vmm dropped it"
like "$("$ADMIN" "$free_srv" "$UID_REP" rstat 0 2>&1)" "status no such region" "... and its server freed it"
is "$(copies rep)" "$c" "rep's map came back from its run file unchanged"

# ---- kill -9 of a memory server, factor 2 -------------------------------------------------
kill -9 "$PA"
wait "$PA" 2>/dev/null
ok "wait_for 'grep -c \"control: server-lost $A\" $vlog' '^1$'" "mem-a killed: lego-vmm is told server-lost"
ok "wait_for 'grep \"vNode rep: memory server mem-a\" $TAP_TMP/controld.log' 'is lost \\(down for longer than the grace\\): [1-9][0-9]* vRegion cop(y|ies) dropped, [0-9]+ replicas? promoted'" \
	"lego-controld dropped its copies there, promoting replicas"
ok "wait_for 'copies rep' '^(mem-[bc]\\+mem-[bc] ){7}mem-[bc]\\+mem-[bc]\$'" "re-replication restored two copies of every vRegion, on mem-b and mem-c"
c=$(copies rep)
ok "two_distinct '$c'" "... on distinct servers ($c)"
ok "wait_for 'ctl pool' 're-replication: every vRegion has its copies'" "legoctl pool: nothing left to re-replicate"
out=$(ctl mmon drain mem-a)
ok "[ $? = 1 ] && grep -q 'memory server mem-a is down: nothing can be copied off it' <<<\"\$out\"" "a drain of a dead server: refused, saying why"
like "$(ctl vnode rep)" "running, id [0-9]+ on host-a" "rep kept running"

# ---- no room to re-replicate until a server joins ---------------------------------------------
kill -9 "$PC"
wait "$PC" 2>/dev/null
ok "wait_for 'ctl pool' 're-replication: 8 copies missing, 8 with no memory server that has room and holds no copy of its vRegion: waiting for capacity'" \
	"mem-c killed too: one server is left, legoctl pool says re-replication waits for capacity"
out=$(ctl vnode rep)
like "$out" "some vRegions have fewer copies \\(re-replication stuck: vRegion [0-7]: no memory server that is up and not draining has room for it" \
	"legoctl vnode: some vRegions lack copies, and why re-replication is stuck..."
is "$(grep -c 'mem-b (1 of 2)' <<<"$out")" 8 "... each has 1 of its 2"
like "$("$CTL" -c "$CONTROLD" --json vnode rep)" '"stuck": \{"region": [0-7], "reason": "no memory server' "... in its JSON too"
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode rep: re-replication is stuck: vRegion [0-7]: no memory server'" \
	"... and the log says so at error level, once the lack of room lasted"
is "$(grep -c 'vNode rep: re-replication is stuck' "$TAP_TMP/controld.log")" 1 "... in one line, not one per retry"
cluster_mmon mem-d 64M
PD=$MMON_PID D=127.0.0.1:$MMON_PORT
ok "wait_for 'copies rep' '^(mem-b\\+mem-d ){7}mem-b\\+mem-d\$'" "mem-d joins: the copies are restored there"
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode rep: re-replication is no longer stuck'" "... and one line says re-replication is going again"
like "$(ctl vnode rep)" "running, id [0-9]+ on host-a" "rep ran on through both losses"

# ---- factor 1: a lost server stops the vNode, naming it ---------------------------------------
U_ONE=aaaaaaaa-0000-4000-8000-000000000005
ok "start_vnode one $U_ONE \"<lego:placement memory='mem-d'/>\"" "a vNode with factor 1 on mem-d starts"
# Frozen: lego-controld loses it when its heartbeats stop, but lego-vmm keeps a vRegion's last
# live copy on lego-controld's word (it may still reach the server): its own requests decide,
# once they time out (--mmon-timeout).
kill -STOP "$PD"
ok "wait_for 'cat $TAP_TMP/controld.log' 'vNode one: memory server mem-d \\(127\\.0\\.0\\.1:[0-9]+\\) holds the only live copy of 8 vRegion'" \
	"mem-d frozen: lost to lego-controld, which says lego-vmm keeps using the only copies there"
ok "wait_for 'vsh domstate one --reason' 'shut off \\(crashed\\)'" "the vNode stops once its requests there time out, and is marked crashed"
like "$(cat "$RUN/$U_ONE.log")" "memory server mem-d \\(127\\.0\\.0\\.1:[0-9]+\\): .*vRegion [0-7] has no other live copy" \
	"lego-vmm's error names the server"
kill -9 "$PD"
wait "$PD" 2>/dev/null
like "$(cat "$TAP_TMP/controld.log")" "vNode one \\(id [0-9]+\\) on host-a exited with status 125" "... and records the exit (125)"
like "$(ctl vnode rep)" "running, id [0-9]+ on host-a" "rep, with copies on mem-b, runs on"

# ---- every byte verified -------------------------------------------------------------------
like "$(ctl vnode rep)" "[1-9][0-9]* evictions, [1-9][0-9]* write-backs" \
	"rep's pager kept writing back all along"
ok "vsh shutdown rep >/dev/null && wait_for 'vsh domstate rep' 'shut off'" "rep is shut down"
like "$(cat "$TAP_TMP/host-a.log")" "vNode rep \\($U_REP\\) pid [0-9]+ exited with status 143" \
	"mem_churn verified rep's RAM through every move and loss (it exits 1 on any error)"
unlike "$(cat "$vlog")" "mem_churn: pass [0-9]+: page" "... and its log has no verification error"
unlike "$(cat "$TAP_TMP"/*.log "$RUN"/*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"
done_testing
