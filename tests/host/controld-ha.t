#!/usr/bin/env bash
# controld-ha.t: three lego-controld (ASan+UBSan) sharing one RADOS state on a throw-away
# Ceph cluster: one leads, the standbys answer virsh and the cluster port with the leader's
# name; kill -9 of the leader while a vNode runs (mem_churn as its lego-vmm, its RAM on two
# memory servers) and a define loop runs (a standby leads within the lease, every
# acknowledged define is there, the components follow the leader through their address
# lists, the vNode never notices); the killed one back as a standby; kill -9 of the leader
# during a memory server's drain (the new leader keeps the server draining and the drain,
# asked again, completes); a SIGSTOPped leader that wakes after losing its lease writes
# nothing and says it stepped down. failover_s is measured.
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
CONTROLD_BIN=$BUILD/asan/bin/lego-controld
CHURN=$BUILD/asan/bin/mem_churn
tap_tmpdir
plan 29

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
CEPH_DIR=$TAP_TMP/ceph
trap 'cluster_cleanup; "$REPO/tests/lib/ceph-cluster" stop "$CEPH_DIR" >/dev/null 2>&1; tap_keep_logs controld-ha; rm -rf "$TAP_TMP"' EXIT

conf=$("$REPO/tests/lib/ceph-cluster" start "$CEPH_DIR" 2>"$TAP_TMP/ceph-start.log")
is "$?" 0 "a throw-away Ceph cluster started"

pki_init
LEASE=4
declare -A PID PORT
start_c() { # N: lego-controld cN on the shared RADOS state (a restart: on the same port)
	local n=$1
	pki_issue controld "c$n" || return 1
	rm -f "$TAP_TMP/c$n.port"
	[ -e "$TAP_TMP/c$n.log" ] && mv "$TAP_TMP/c$n.log" "$TAP_TMP/c$n-before.log"
	"$CONTROLD_BIN" --name "c$n" --socket "$CLUSTER_RUN/c$n-sock" --listen "127.0.0.1:${PORT[$n]:-0}" \
		--port-file "$TAP_TMP/c$n.port" --state "rados:lego" --ceph-conf "$conf" \
		--lease-s "$LEASE" --heartbeat-ms 200 --region-size 2M --capability-key "$CAP_KEY" \
		2>>"$TAP_TMP/c$n.log" &
	PID[$n]=$!
	SERVER_PIDS+=("${PID[$n]}")
	wait_for "cat $TAP_TMP/c$n.port" "^[0-9]+$" 60 >/dev/null && PORT[$n]=$(cat "$TAP_TMP/c$n.port")
}
uri() { echo "lego+unix:///system?socket=$CLUSTER_RUN/c$1-sock"; }
vsh() { timeout 20 virsh -c "$(uri "$1")" "${@:2}" 2>&1; }
leader() { # the number of the lego-controld that logged it leads (and still runs)
	local n
	for n in 1 2 3; do
		[ -n "${PID[$n]:-}" ] && kill -0 "${PID[$n]}" 2>/dev/null &&
			grep -q "lease: leading with epoch" "$TAP_TMP/c$n.log" && echo "$n" && return 0
	done
	return 1
}
xml() {
	cat <<EOX
<domain type='lego'><name>$1</name>
  <memory unit='MiB'>${2:-16}</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/bin/true</kernel></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>4</lego:excache></lego:vnode></metadata>
</domain>
EOX
}

start_c 1 && start_c 2 && start_c 3
ok "wait_for leader '^[123]$' 60" "three lego-controld on one pool: one leads"
L=$(leader)
S=$(( L % 3 + 1 ))
like "$(grep -h 'standing by' "$TAP_TMP/c$S.log" | head -n 1)" "standing by; the leader is lego-controld 'c$L'" \
	"a standby logs who leads"
like "$(vsh "$S" list --all)" "stands by and serves nothing; the leader is lego-controld 'c$L'" \
	"virsh on a standby: a clear libvirt error naming the leader"
CONTROLD="127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]},127.0.0.1:${PORT[3]}"
pmon_start host-a --cores 4 --memory 512M --vmm "$CHURN"
cluster_mmon mem-a 96M
cluster_mmon mem-b 96M
alive() { "$CTL" -c "127.0.0.1:${PORT[$1]}" --json components 2>/dev/null | grep -o '"alive": true' | wc -l; }
ok "wait_for 'alive $L' '^3$' 60" "a processor host and two memory servers given every address registered with the leader"

xml vm1 64 >"$TAP_TMP/vm1.xml"
vsh "$L" define "$TAP_TMP/vm1.xml" >/dev/null
like "$(vsh "$L" start vm1)" "Domain 'vm1' started" "a vNode started on the leader"
vmm_pid=$(pgrep -f -n "mem_churn.*--mem 65536K" || true)
ok "[ -n '$vmm_pid' ]" "its lego-vmm (mem_churn) runs"

# A define loop against whichever lego-controld answers; acknowledged names recorded.
define_loop() {
	local i=0 n
	while [ ! -e "$TAP_TMP/stop-loop" ]; do
		i=$((i + 1))
		xml "d$i" >"$TAP_TMP/d.xml"
		for n in 1 2 3; do
			if timeout 10 virsh -c "$(uri "$n")" define "$TAP_TMP/d.xml" >/dev/null 2>&1; then
				echo "d$i $(date +%s.%N) $n" >>"$TAP_TMP/acked"
				break
			fi
		done
	done
}
: >"$TAP_TMP/acked"
define_loop &
loop_pid=$!
wait_for "wc -l <$TAP_TMP/acked" "^([3-9]|[1-9][0-9]+)$" 60 >/dev/null
kill_t=$(date +%s.%N)
kill -9 "${PID[$L]}"
wait "${PID[$L]}" 2>/dev/null
old=$L
PID[$L]=
ok "wait_for leader '^[123]$' $((LEASE * 4))" "kill -9 of the leader: a standby leads"
L=$(leader)
# (a define the old leader answered just before it died is no failover)
ok "wait_for \"awk -v t=$kill_t -v old=$old '\\\$2 > t && \\\$3 != old' $TAP_TMP/acked | wc -l\" '^[1-9]' 60" \
	"defines succeed on the new leader"
first=$(awk -v t="$kill_t" -v old="$old" '$2 > t && $3 != old {print $2; exit}' "$TAP_TMP/acked")
failover=$(python3 -c "print(f'{$first - $kill_t:.2f}')")
diag "failover_s=$failover (leader kill to the first acknowledged define on c$L; lease ${LEASE} s)"
ok "python3 -c 'import sys; sys.exit(0 if $failover <= $LEASE + 2 else 1)'" \
	"failover_s $failover <= lease + 2 s"
: >"$TAP_TMP/stop-loop"
wait "$loop_pid"
listed=$(vsh "$L" list --all --name)
missing=$(awk '{print $1}' "$TAP_TMP/acked" | while read -r d; do grep -qx "$d" <<<"$listed" || echo "$d"; done)
is "$missing" "" "every acknowledged define ($(wc -l <"$TAP_TMP/acked")) is on the new leader"
ok "wait_for 'alive $L' '^3$' 60" "the components follow the leader through their address lists"
like "$(vsh "$L" domstate vm1)" "running" "the vNode runs on under the new leader"
ok "kill -0 $vmm_pid" "its lego-vmm never stopped"
LIST="127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]},127.0.0.1:${PORT[3]}"
like "$("$CTL" -c "$LIST" vnode vm1 2>&1 | head -n 1)" "running" "legoctl given every address asks the leader"

rx() { rados -c "$conf" -p lego "$@" 2>&1; }
is "$(rx getxattr lego-controld.state lego.epoch)" "00000000000000000002" \
	"RADOS: the takeover incremented the epoch that guards every write"
like "$(rx listomapkeys lego-controld.state | tr '\n' ' ')" "domains/d1\\.xml .*next-id .*run/[0-9a-f-]{36}\\.run" \
	"RADOS: the definitions, next-id and the run records are the state object's omap"

# The killed one back: it stands by.
start_c "$old"
ok "wait_for \"grep -c 'standing by; the leader is lego-controld .c$L.' $TAP_TMP/c$old.log\" '^[1-9]' 30" \
	"the killed lego-controld, restarted, stands by"

# kill -9 of the leader while it drains mem-a: the new one keeps it draining; asked again,
# the drain completes.
"$CTL" -c "$LIST" mmon drain mem-a >"$TAP_TMP/drain1.out" 2>"$TAP_TMP/drain1.err" &
drain_pid=$!
wait_for "cat $TAP_TMP/drain1.err $TAP_TMP/drain1.out" "draining mem-a|drained" 60 >/dev/null
kill -9 "${PID[$L]}"
wait "${PID[$L]}" 2>/dev/null
PID[$L]=
wait "$drain_pid"
diag "the drain when its leader was killed: $(tail -c 300 "$TAP_TMP/drain1.err" | tr '\r\n' '  ') $(cat "$TAP_TMP/drain1.out")"
ok "wait_for leader '^[123]$' $((LEASE * 4)) && wait_for \"\$CTL -c \$LIST pool\" 'mem-a .*draining' 30" \
	"a standby leads, and mem-a is still draining (the state said so)"
L=$(leader)
wait_for "alive $L" '^3$' 60 >/dev/null
out=$("$CTL" -c "$LIST" mmon drain mem-a 2>/dev/null)
like "$out" "memory server mem-a drained: .*it now reports 0\\.0 MiB in use" \
	"the drain asked again of the new leader completes"
ok "kill -0 $vmm_pid && vsh $L domstate vm1 | grep -q running" "the vNode ran on through both"

# Two left: SIGSTOP the leader past its lease; the other leads; a define sent to the
# stopped one meanwhile must not land when it wakes.
S=$(for n in 1 2 3; do [ -n "${PID[$n]}" ] && [ "$n" != "$L" ] && echo "$n"; done)
kill -STOP "${PID[$L]}"
ok "wait_for \"grep -c 'lease: leading with epoch' $TAP_TMP/c$S.log\" '^1$' $((LEASE * 4))" \
	"SIGSTOP of the leader: the other of two leads"
xml stale >"$TAP_TMP/stale.xml"
vsh "$L" define "$TAP_TMP/stale.xml" >"$TAP_TMP/stale.out" 2>&1 &
stale_pid=$!
sleep 0.5 # the define queued on the stopped process's socket (it cannot answer)
kill -CONT "${PID[$L]}"
wait "${PID[$L]}"
is "$?" 75 "the old leader, woken, exits 75"
like "$(grep 'stepped down' "$TAP_TMP/c$L.log")" "stepped down" "and logs that it stepped down"
diag "$(grep -h 'stepped down' "$TAP_TMP/c$L.log")"
wait "$stale_pid"
ok "! vsh $S list --all --name | grep -qx stale && ! grep -q 'defined from' $TAP_TMP/stale.out" \
	"the define it was sent while stopped was neither acknowledged nor stored"
PID[$L]=
like "$(rx getxattr lego-controld.state lego.leader)" "lego-controld 'c$S'" \
	"RADOS: lego.leader names the leader"
vsh "$S" destroy vm1 >/dev/null
wait_for "kill -0 $vmm_pid 2>&1" "No such process" 30 >/dev/null

# The guard itself: the epoch moved on under the leader (what a new leader's takeover does
# first); its next write fails the guard, and it steps down before answering.
epoch=$(rx getxattr lego-controld.state lego.epoch)
rx setxattr lego-controld.state lego.epoch "$(printf '%020d' $((10#$epoch + 1)))" >/dev/null
xml fenced >"$TAP_TMP/fenced.xml"
out=$(vsh "$S" define "$TAP_TMP/fenced.xml")
ok "! grep -q 'defined from' <<<\"\$out\"" "a leader whose epoch is not the state's: its define is not acknowledged"
wait "${PID[$S]}"
is "$?" 75 "it exits 75"
# (its first write to fail may be a background one, e.g. the owed copies after vm1's destroy)
like "$(grep 'stepped down' "$TAP_TMP/c$S.log")" "the write of [^ ]+ failed the epoch guard: another lego-controld took over: stepped down" \
	"its write failed the epoch guard and it logs that it stepped down"
PID[$S]=
