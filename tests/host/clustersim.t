#!/usr/bin/env bash
# clustersim.t: the cluster simulator (tests/tools/lego_clustersim.c, ASan+UBSan) against
# lego-controld (ASan+UBSan), so that it cannot rot: a few tens of simulated components,
# each with its own certificate, register; vNodes defined and started with Debian's virsh
# are placed and run on simulated processor hosts; a destroy reaches the simulated host; a
# host that stops its heartbeats is marked down and its vNode crashed, the others run on.
# The simulator is given an address list whose first is dead (it follows to the next).
. "$(dirname "$0")/../lib/tap.sh"
CTL=$BUILD/asan/bin/legoctl
SIM=$BUILD/asan/bin/lego_clustersim
tap_tmpdir
plan 15

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'cluster_cleanup; tap_keep_logs clustersim; rm -rf "$TAP_TMP"' EXIT

out=$("$SIM" --help)
ok "[ $? = 0 ] && grep -q -- '--mute NAME' <<<\"\$out\"" "lego_clustersim --help"
"$SIM" --pmons x >/dev/null 2>&1
is "$?" 64 "a bad option: exit 64"
"$SIM" --controld 127.0.0.1:1,nowhere --pmons 1 >/dev/null 2>&1
is "$?" 64 "a bad --controld list: exit 64"

ARGS=(--pmons 20 --mmons 8 --smons 4 --cores 4 --pmon-mem 8G --mmon-mem 4G)
names=$("$SIM" "${ARGS[@]}" --list-names)
is "$(wc -l <<<"$names")/$(grep -c '^pmon sim-p00' <<<"$names")" "32/20" "--list-names: every component"
while read -r kind name; do
	pki_issue "$kind" "$name" || break
done <<<"$names"
ok "[ -s '$PKI_DIR/smon-sim-s0004.pem' ]" "a certificate for each (legoctl pki issue)"

# Heartbeats every 500 ms: a host is down after 2.5 s without one, lost 4 s later. With
# 200 ms (down after 1 s, lost 1.5 s later) checks 8-15 failed beside a full bench run: a
# stall that long of the simulator (ASan) on a loaded machine loses hosts that did nothing
# wrong, and crashes their vNodes.
controld_start --heartbeat-ms 500 --pmon-loss-ms 4000
STATUS=$TAP_TMP/sim.status
# An address list whose first is closed (a lego-controld that died): each component tries
# the next, as lego-pmon does.
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SIM" --controld "127.0.0.1:$dead,$CONTROLD" "${ARGS[@]}" --status-file "$STATUS" --mute sim-p0007 \
	2>>"$TAP_TMP/sim.log" &
SIM_PID=$!
SERVER_PIDS+=("$SIM_PID")
ok "wait_for 'cat $STATUS' '^up 32\$' 60" "all 32 register (each with its own certificate), the dead first address passed over"
ok "wait_alive 32" "lego-controld sees 32 components alive"

xml() { # name [placement]
	cat <<EOF
<domain type='lego'><name>$1</name>
  <memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>$BUILD/images/lego-guest.elf</kernel></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>16</lego:excache>$2</lego:vnode></metadata>
</domain>
EOF
}
vsh() { timeout 30 virsh -c "$LIBVIRT_URI" "$@" 2>&1; }
# start_vn N: until vnN runs (a start fails while a stalled host is down or its session is
# being renewed: it is asked again then, as an operator would)
start_vn() { wait_for "vsh start vn$1 >/dev/null; vsh domstate vn$1" '^running' 60; }
started=0
for i in 1 2 3 4 5 6; do
	xml "vn$i" >"$TAP_TMP/vn$i.xml"
	vsh define "$TAP_TMP/vn$i.xml" >/dev/null && start_vn "$i" && started=$((started + 1))
done
xml vn7 "<lego:placement processor='sim-p0007'/>" >"$TAP_TMP/vn7.xml"
vsh define "$TAP_TMP/vn7.xml" >/dev/null && start_vn 7 && started=$((started + 1))
is "$started" 7 "seven vNodes defined and started with virsh"
table=$("$CTL" -c "$CONTROLD" vnodes)
is "$(grep -cE ' running +sim-p00[0-9][0-9] ' <<<"$table")" 7 "each runs on a simulated processor host"
ok "grep -qE '^vn7 .* running +sim-p0007 ' <<<\"\$table\"" "vn7 where its placement hint says"
ok "wait_for 'cat $STATUS' '^vms 7\$'" "the simulated hosts hold the seven"

like "$(vsh destroy vn2)" "destroyed" "virsh destroy reaches the simulated host"
ok "wait_for 'cat $STATUS' '^vms 6\$'" "... which exits it and is told to forget it"

# Placement may have put others there too: those are lost with it.
table=$("$CTL" -c "$CONTROLD" vnodes)
keep=$(($(grep -c ' running ' <<<"$table") - $(grep -cE ' running +sim-p0007 ' <<<"$table")))
kill -USR1 "$SIM_PID"
ok "wait_for '$CTL -c $CONTROLD components' 'sim-p0007 .* down' 60" \
	"a simulated host that stops its heartbeats is marked down"
ok "wait_for 'vsh domstate vn7 --reason' 'shut off \\(crashed\\)' 60 &&
	[ \"\$($CTL -c $CONTROLD vnodes | grep -c ' running ')\" = $keep ]" \
	"its vNodes are lost with it; the $keep on other hosts run on"
