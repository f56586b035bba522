#!/usr/bin/env bash
# rma.t: one-sided page reads without an RDMA device: tcp with LEGO_FABRIC_RMA=emulated runs
# the path verbs takes (a domain per connection, a key per vNode and region): the pager's
# reads are all RMA and the servers serve no READ message; the keys open a region to its own
# connection only and stop working when it closes (mmon_attack); tcp without it still reads
# by messages; the verbs provider on an address without an RDMA device fails naming both; a
# cluster on verbs refuses a memory server that registers on tcp.
. "$(dirname "$0")/../lib/tap.sh"
PB=$BUILD/asan/bin/pager_bench
MMON=$BUILD/asan/bin/lego-mmon
tap_tmpdir
plan 15

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'cluster_cleanup; rm -rf "$TAP_TMP"' EXIT
fig() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }

export LEGO_FABRIC_RMA=emulated
mmon_start a 128M
A=$MMON_PORT
mmon_start b 128M
SERVERS=(--mmon "127.0.0.1:$A" --mmon "127.0.0.1:$MMON_PORT")
out=$(timeout 300 "$PB" remote --ws 16M --touches 2000 "${SERVERS[@]}" 2>&1)
is "$?" 0 "emulated RMA: every page read back as written"
like "$out" "page reads by RMA" "emulated RMA: the pager says its page reads are one-sided"
rma=$(fig pager_reads_rma "$out")
ok "[ ${rma:-0} -gt 0 ] && [ \"$(fig pager_reads_msg "$out")\" = 0 ]" \
	"emulated RMA: ${rma:-0} page reads by RMA, none by message"

attack=$(timeout 120 "$BUILD/asan/bin/mmon_attack" "127.0.0.1:$A" 2>&1)
is "$?" 0 "emulated RMA: every attack of mmon_attack refused, RMA keys included"
like "$attack" "ok [0-9]+ - victim: an RMA read with its key on its own connection gives" \
	"mmon_attack's key checks ran (not skipped)"
[ "$(grep -c '^not ok' <<<"$attack")" = 0 ] || diag "$attack"
kill -TERM "${SERVER_PIDS[@]}"
wait "${SERVER_PIDS[@]}"
is "$?" 0 "memory servers shut down cleanly"
logs=$(cat "$TAP_TMP/a.log" "$TAP_TMP/b.log")
like "$logs" "served 0 reads, [1-9][0-9]* writes" "the servers served no READ message, only write-backs"
unlike "$logs" "ERROR: AddressSanitizer|runtime error:" "memory servers: no sanitizer report"
SERVER_PIDS=()

unset LEGO_FABRIC_RMA
mmon_start c 128M
out=$(timeout 300 "$PB" remote --ws 16M --touches 2000 --mmon "127.0.0.1:$MMON_PORT" 2>&1)
is "$?" 0 "tcp: every page read back as written"
ok "[ \"$(fig pager_reads_rma "$out")\" = 0 ] && [ \"$(fig pager_reads_msg "$out")\" -gt 0 ]" \
	"tcp: page reads by message ($(fig pager_reads_msg "$out")), none by RMA"
server_kill_all

err=$(timeout 60 "$MMON" --provider verbs --listen 127.0.0.1:0 --insecure-no-capabilities 2>&1)
ok "[ $? = 1 ]" "lego-mmon --provider verbs on an address of no RDMA device fails"
like "$err" "provider 'verbs' offers no connected endpoint for 127.0.0.1:0: .*RDMA devices here: " \
	"... saying so, naming the provider and the RDMA devices"
unlike "$out$err" "ERROR: AddressSanitizer|runtime error:" "no sanitizer report"

# The cluster's one fabric: each server's registration says which provider it serves on.
controld_start --provider verbs
cluster_mmon m-tcp 64M
for _ in $(seq 300); do
	grep -q "refused registration" "$TAP_TMP/m-tcp.log" 2>/dev/null && break
	sleep 0.1
done
like "$(cat "$TAP_TMP/m-tcp.log")" "refused registration: .*lego-mmon 'm-tcp' serves on the fabric provider 'tcp'; this cluster's is 'verbs'" \
	"a cluster on verbs refuses a memory server on tcp, naming both providers"
like "$(cat "$TAP_TMP/controld.log")" "warn: cluster: refused the registration of m-tcp .*provider 'tcp'" \
	"lego-controld logs the refusal"
