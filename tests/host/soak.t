#!/usr/bin/env bash
# soak.t: a memory pool under repeated failures, as an operator's chaos drill: lego-controld,
# lego-pmon running mem_churn as the vNode's lego-vmm (its pager and remote memory under a
# thread that verifies and rewrites its RAM, with lego-vmm's control socket), four lego-mmon,
# a vNode with replication factor 2. Each round: wait until every vRegion has its two copies
# on servers that are up, kill -9 a random server holding copies, start a fresh one (so that
# there is room), and every third round also kill -9 lego-controld a random moment later and
# start it again on its state directory. The vNode uses more distinct memory servers over
# its life than any fixed table would hold. At the end: mem_churn's verdict (zero
# verification errors), and after undefine every copy freed on every live server.
#
# Bounded for make test: SOAK_ROUNDS rounds (default 42). make soak runs it for SOAK_SECONDS
# instead; SOAK_SEED replays a run (the seed is printed). Figures (rounds, restore times from
# the kill to every vRegion back at its factor, verification errors, bytes left after
# undefine) go to the bench "soak" (tests/bench/lib.sh bench_record). All under ASan+UBSan.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/bench/lib.sh"
CTL=$BUILD/asan/bin/legoctl
CHURN=$BUILD/asan/bin/mem_churn
ROUNDS=${SOAK_ROUNDS:-42}
SECONDS_MAX=${SOAK_SECONDS:-0}
SEED=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RESTORE_MAX_S=90 # a round whose factor is not back by then has failed
tap_tmpdir
plan 13

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
keep_vnode_logs() {
	for f in "$CLUSTER_RUN"/pmon-host-a/*.log "$CLUSTER_RUN"/pmon-host-a/*.console; do
		[ -f "$f" ] && cp "$f" "$TAP_TMP/vnode-$(basename "$f").txt"
	done
}
trap 'keep_vnode_logs; cluster_cleanup; tap_keep_logs soak; rm -rf "$TAP_TMP"' EXIT
RANDOM=$SEED
diag "seed $SEED (replay with SOAK_SEED=$SEED)"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
ctl() { "$CTL" -c "$CONTROLD" "$@" 2>&1; }
vsh() { timeout 30 virsh -c "$LIBVIRT_URI" "$@" 2>&1; }
# Until every vRegion of the vNode has its factor of copies, none on a server named in $1
# (comma-separated), polling lego-controld as fast as it answers (at most RESTORE_MAX_S, and
# from $2, the kill's time in ms, if given): 0 and FACTOR_MS (when it was seen back, from $2)
# and HOLDERS (the servers with copies), else 1.
wait_factor() {
	local out
	out=$(python3 - "$1" "${2:-0}" "$RESTORE_MAX_S" "$CTL" "$CONTROLD" <<'PY'
import json, subprocess, sys, time
dead, t0, limit, ctl, controld = set(sys.argv[1].split(",")), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
deadline, last = time.time() + limit, ""
while time.time() < deadline:
    r = subprocess.run([ctl, "-c", controld, "--json", "vnode", "soak"], capture_output=True, text=True)
    now_ms = time.time_ns() // 1000000
    try:
        d = json.loads(r.stdout)
        f, regions = d["replication"]["factor"], d["regions"]
        if regions and all(len(x["copies"]) >= f and not set(x["copies"]) & dead for x in regions):
            print(now_ms - t0 if t0 else 0)
            print(" ".join(sorted({c for x in regions for c in x["copies"]})))
            sys.exit(0)
        last = " ".join("+".join(x["copies"]) for x in regions)
    except (ValueError, KeyError):
        last = (r.stdout + r.stderr).strip()[-300:]
    time.sleep(0.05)
print("the factor is not back after %.0f s: %s" % (limit, last))
sys.exit(1)
PY
	) || { diag "$out"; return 1; }
	FACTOR_MS=${out%%$'\n'*}
	HOLDERS=${out#*$'\n'}
}
fresh_server() { # a new memory server that joins (started, not waited for: it registers)
	NEXT=$((NEXT + 1))
	pki_issue mmon "mem-$NEXT" # its certificate (the test's PKI: cluster.sh)
	"${MMON:-$BUILD/asan/bin/lego-mmon}" --listen 127.0.0.1:0 --name "mem-$NEXT" --pool 64M \
		--controld "$CONTROLD" 2>>"$TAP_TMP/mem-$NEXT.log" &
	MPID["mem-$NEXT"]=$!
	SERVER_PIDS+=("$!")
}
pool_sum() { # field: summed over the memory servers that are up
	"$CTL" -c "$CONTROLD" --json pool | python3 -c '
import json, sys
print(sum(s[sys.argv[1]] for s in json.load(sys.stdin)["servers"] if s["alive"]))' "$1"
}

controld_start --region-size 2M --heartbeat-ms 200 --mmon-loss-ms 600
pmon_start host-a --cores 8 --memory 1G --vmm "$CHURN"
RUN=$CLUSTER_RUN/pmon-host-a
declare -A MPID
NEXT=0
for _ in 1 2 3 4; do fresh_server; done
ok "wait_alive 5" "lego-controld, a processor host and four memory servers"

U=5a5a5a5a-0000-4000-8000-000000000023
cat >"$TAP_TMP/soak.xml" <<EOF
<domain type='lego'><name>soak</name><uuid>$U</uuid>
  <memory unit='MiB'>16</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/bin/true</kernel></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>4</lego:excache><lego:replication factor='2'/></lego:vnode></metadata>
</domain>
EOF
vsh define "$TAP_TMP/soak.xml" >/dev/null
like "$(vsh start soak)" "Domain 'soak' started" "a vNode with factor 2 starts (8 vRegions of 2 MiB, mem_churn as its lego-vmm)"
for _ in $(seq 300); do grep -q '^started' "$RUN/$U.console" 2>/dev/null && break; sleep 0.1; done

# ---- the rounds --------------------------------------------------------------------------
DEAD=none
restores=()
failed_round=0
t_end=$(($(now_ms) + SECONDS_MAX * 1000))
round=0
while :; do
	if [ "$SECONDS_MAX" -gt 0 ]; then
		[ "$(now_ms)" -lt "$t_end" ] || break
	else
		[ "$round" -lt "$ROUNDS" ] || break
	fi
	wait_factor "$DEAD" || { failed_round=$((round + 1)); break; }
	round=$((round + 1))
	read -r -a holders <<<"$HOLDERS"
	victim=${holders[$((RANDOM % ${#holders[@]}))]}
	restart=$((round % 3 == 0))
	delay_ms=$((RANDOM % 1500))
	t_kill=$(now_ms)
	kill -9 "${MPID[$victim]}"
	wait "${MPID[$victim]}" 2>/dev/null
	DEAD=$DEAD,$victim
	fresh_server
	if [ "$restart" = 1 ]; then
		while [ "$(now_ms)" -lt $((t_kill + delay_ms)) ]; do sleep 0.05; done
		kill -9 "$CONTROLD_PID"
		wait "$CONTROLD_PID" 2>/dev/null
		controld_start --region-size 2M --heartbeat-ms 200 --mmon-loss-ms 600
	fi
	wait_factor "$DEAD" "$t_kill" || { failed_round=$round; break; }
	restores+=("$FACTOR_MS")
	diag "round $round: $victim killed$([ "$restart" = 1 ] && echo ", lego-controld killed ${delay_ms} ms later"): factor back in $FACTOR_MS ms"
done
is "$failed_round" 0 "every round ended with every vRegion back at its factor (seed $SEED)"
if [ "$SECONDS_MAX" -gt 0 ]; then
	ok "[ $round -ge 1 ]" "$round rounds in ${SECONDS_MAX} s"
else
	ok "[ $round -ge 40 ]" "$round rounds (at least 40)"
fi
distinct=$({
	grep -oE -- '--mmon [0-9.:]+' "$RUN/$U.log" | awk '{ print $2 }'
	grep -oE 'new copy joining on [0-9.:]+' "$RUN/$U.log" | awk '{ print $5 }'
} | sort -u | wc -l)
ok "[ $distinct -gt 32 ]" "the vNode used $distinct distinct memory servers over its life (more than lego-vmm's table of 32)"
like "$(ctl vnode soak | head -n 1)" "running, id [0-9]+ on host-a" "it ran through every kill"
unlike "$(cat "$TAP_TMP/controld.log")" "re-replication is stuck" "re-replication was never stuck"

# ---- the verdict and the reclaim ----------------------------------------------------------
vsh shutdown soak >/dev/null
for _ in $(seq 300); do vsh domstate soak | grep -q 'shut off' && break; sleep 0.1; done
like "$(vsh domstate soak)" "shut off" "virsh shutdown: the vNode stops"
like "$(cat "$TAP_TMP/host-a.log")" "vNode soak \\($U\\) pid [0-9]+ exited with status 143" \
	"mem_churn ran to its end (status 143 on SIGTERM; it exits 1 on a verification error)"
verdict=$(grep -o 'mem_churn: verdict: .*' "$RUN/$U.log" | tail -n 1)
errors=$(awk '{ print $3 }' <<<"$verdict")
is "${errors:-missing}" 0 "mem_churn's verdict: zero verification errors ($verdict)"
vsh undefine soak >/dev/null
# A copy that failed to free earlier is retried with a back-off of up to 30 s (the pool's
# worker, mempool/controld_owed.c): wait for both to reach 0, as long as one goes down.
leftover=unknown owed=unknown
last="" still=0
while [ $still -lt 450 ]; do
	leftover=$(pool_sum used_bytes 2>/dev/null)
	owed=$(pool_sum owed_copies 2>/dev/null)
	[ "$leftover" = 0 ] && [ "$owed" = 0 ] && break
	if [ "$leftover/$owed" = "$last" ]; then still=$((still + 1)); else still=0; fi
	last="$leftover/$owed"
	sleep 0.1
done
is "$leftover" 0 "after undefine, the memory servers that are up hold 0 bytes"
is "$owed" 0 "... and lego-controld owes nothing on them"
unlike "$(cat "$TAP_TMP"/*.log "$RUN"/*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" \
	"no sanitizer report"

# ---- the bench -----------------------------------------------------------------------------
read -r p50 p99 < <(printf '%s\n' "${restores[@]}" | python3 -c '
import math, sys
v = sorted(int(x) / 1000.0 for x in sys.stdin.read().split())
q = lambda p: v[max(0, math.ceil(p * len(v)) - 1)] if v else -1
print("%.3f %.3f" % (q(0.5), q(0.99)))')
diag "rounds $round, restore p50 ${p50} s, p99 ${p99} s, max $(printf '%s\n' "${restores[@]}" | sort -n | tail -n 1) ms, servers used $distinct, seed $SEED"
diag "lego-controld's log: $(grep -c ' warn: ' "$TAP_TMP/controld.log") warnings, $(grep -c ' error: ' "$TAP_TMP/controld.log") errors"
note="seed $SEED, $([ "$SECONDS_MAX" -gt 0 ] && echo "${SECONDS_MAX} s" || echo bounded), ASan+UBSan"
bench_record soak rounds "$round" count "$note"
bench_record soak restore_p50_s "$p50" s "kill -9 of a server to every vRegion back at factor 2"
bench_record soak restore_p99_s "$p99" s "every third round with a kill -9 of lego-controld"
bench_record soak verification_errors "${errors:-1}" count "mem_churn's verdict"
bench_record soak leftover_bytes_after_undefine "$leftover" bytes "summed over the memory servers that are up"
bench_record soak memory_servers_used "$distinct" count "distinct servers over the vNode's life"
done_testing
