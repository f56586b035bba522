#!/usr/bin/env bash
# replication.t: a vNode's vRegion copies without KVM: lego-vmm's pager and remote memory
# under mem_churn (a thread verifying and rewriting a working set 4x its ExCache), real
# lego-mmon servers, lego-vmm's control socket: a memory server killed with replication 2
# (failover, nothing lost) and 1 (the vNode stops naming it); every copy moved off a server
# by hand while the guest works (region-add, FILL server to server, region-live,
# region-drop, RELEASE), the server ends empty; a copy RELEASEd behind lego-vmm's back is
# followed (EREDIRECT); the factor restored after a loss; refusals. All under ASan+UBSan.
. "$(dirname "$0")/../lib/tap.sh"
CHURN=$BUILD/asan/bin/mem_churn
ADMIN=$BUILD/release/bin/mem_admin
ASK=$BUILD/release/bin/vmm_ask
tap_tmpdir
tap_sockdir
plan 45

. "$REPO/tests/lib/servers.sh"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	server_kill_all
	tap_keep_logs replication
	rm -rf "$TAP_TMP" "$TAP_SOCK"
}
trap cleanup EXIT

sanitizer_free() { # file name
	unlike "$(cat "$1")" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}
field() { # file name: the value of "name value"
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}
ask() { "$ASK" "@$SOCK" "$1" 2>/dev/null; }
churn_start() { # out-file args...: starts mem_churn in the background; sets CPID
	local out=$1
	shift
	rm -f "$TAP_TMP/stop"
	"$CHURN" --ws 48M --region-size 8M --cache 12M --control "@$SOCK" \
		--stop-file "$TAP_TMP/stop" "$@" >"$out" 2>&1 </dev/null &
	CPID=$!
	PIDS+=("$CPID")
	for _ in $(seq 300); do
		grep -q '^started' "$out" 2>/dev/null && return 0
		kill -0 "$CPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
churn_stop() { # sets CRC
	touch "$TAP_TMP/stop"
	for _ in $(seq 600); do
		kill -0 "$CPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$CPID" 2>/dev/null
	wait "$CPID"
	CRC=$?
}
# Move vRegion $1 of vNode $2 from $3 to $4 (name $5) as the control plane does.
move_region() {
	ask "region-add $1@$4" | grep -q '"done": "add"' &&
		"$ADMIN" "$4" "$2" fill "$1" "$3" >/dev/null &&
		"$ADMIN" "$4" "$2" wait "$1" 30000 >"$TAP_TMP/wait.txt" &&
		ask "region-live $1@$4" | grep -q '"done": "live"' &&
		ask "region-drop $1@$3" | grep -q '"done": "drop"' &&
		"$ADMIN" "$3" "$2" release "$1" "$5@$4" >/dev/null
}
copies_of() { # region: "state/failed" per copy
	ask regions | python3 -c 'import json,sys; r=json.load(sys.stdin)["regions"][int(sys.argv[1])]; print(" ".join("%s:%s%s" % (c["server"], c["state"], "!" if c["failed"] else "") for c in r))' "$1"
}

mmon_start ma 256M
A=127.0.0.1:$MMON_PORT
APID=$MMON_PID
mmon_start mb 256M
B=127.0.0.1:$MMON_PORT
BPID=$MMON_PID
mmon_start mc 256M
C=127.0.0.1:$MMON_PORT
ok "[ -n '${A#*:}' ] && [ -n '${B#*:}' ] && [ -n '${C#*:}' ]" "three memory servers listening"
SOCK=lego-repl-$$

# ---- replication 2: a server killed mid-run, nothing lost --------------------------------
churn_start "$TAP_TMP/r2.txt" --mmon "$A" --mmon "$B" --replicas 2 --vnode-id 201 \
	--seconds 8 --kill "$BPID" --kill-after-ms 2500
ok "[ \$? -eq 0 ]" "replication 2: the guest stand-in runs, every vRegion on both servers"
like "$(copies_of 0)" "^0:live 1:live$" "vRegion 0 has a live copy on each server"
wait "$CPID"
rc=$?
is "$rc" 0 "mb killed -9 mid-run: the vNode ran on to its end"
is "$(field "$TAP_TMP/r2.txt" errors)" 0 "... with zero verification errors"
ok "[ $(field "$TAP_TMP/r2.txt" passes) -ge 2 ]" "... over $(field "$TAP_TMP/r2.txt" passes) passes"
like "$(cat "$TAP_TMP/r2.txt")" "memory server mb \\(127.0.0.1:[0-9]+\\) lost: " "the loss is logged, naming mb"
fo=$(field "$TAP_TMP/r2.txt" failover_ms)
ok "[ \"\$(awk -v f='$fo' 'BEGIN { print (f >= 0 && f < 1000) }')\" = 1 ]" \
	"the next verified remote access came ${fo} ms after the kill"
diag "failover_ms $fo, stall after the kill $(field "$TAP_TMP/r2.txt" stall_after_kill_ms) ms"
sanitizer_free "$TAP_TMP/r2.txt" "replication 2"
mmon_start mb 256M
B=127.0.0.1:$MMON_PORT
BPID=$MMON_PID

# ---- replication 1: the same loss stops the vNode, naming the server ---------------------
churn_start "$TAP_TMP/r1.txt" --mmon "$A" --mmon "$B" --vnode-id 202 --seconds 30 \
	--kill "$BPID" --kill-after-ms 2000
wait "$CPID"
is "$?" 125 "replication 1, mb killed: the vNode stops (exit 125)"
like "$(cat "$TAP_TMP/r1.txt")" "error: memory server mb \\(127.0.0.1:[0-9]+\\): .*connection lost.*no other live copy" \
	"... with an error that names mb"
unlike "$(cat "$TAP_TMP/r1.txt")" "^errors [1-9]" "... and no page was ever served wrong"
mmon_start mb 256M
B=127.0.0.1:$MMON_PORT
BPID=$MMON_PID

# ---- every copy moved off ma while the guest works ---------------------------------------
churn_start "$TAP_TMP/move.txt" --mmon "$A" --mmon "$B" --vnode-id 203 --seconds 120
ok "[ \$? -eq 0 ]" "a vNode on ma and mb (6 vRegions of 8 MiB)"
sleep 2
res0=$("$ADMIN" "$A" 203 stat | awk '$1 == "reserved_bytes" { print $2 }')
moved=0
for r in 0 2 4; do
	move_region "$r" 203 "$A" "$C" mc && moved=$((moved + 1))
done
is "$moved" 3 "vRegions 0, 2 and 4 moved from ma to mc (add, fill, live, drop, release)"
like "$(cat "$TAP_TMP/wait.txt")" "state live" "the fill ended live"
held=0
for r in 0 1 2 3 4 5; do "$ADMIN" "$A" 203 rstat "$r" >/dev/null 2>&1 && held=$((held + 1)); done
is "$held" 0 "ma holds none of the vNode's vRegions any more"
is "$(("$res0" - $("$ADMIN" "$A" 203 stat | awk '$1 == "reserved_bytes" { print $2 }')))" \
	"$((24 << 20))" "... and its pool has their 24 MiB back"
like "$(copies_of 0)" "^2:live$" "vRegion 0's only copy is on mc"
like "$("$ADMIN" "$A" 203 open 0 8M 2>&1)" "OPEN refused: region moved \\(redirect\\): mc@$C" \
	"an OPEN of vRegion 0 on ma with an old map is redirected to mc (never a new, empty one)"
# vRegion 1 is moved behind lego-vmm's back: mc gets a copy and mb releases its own.
ask "region-add 1@$C" >/dev/null
"$ADMIN" "$C" 203 fill 1 "$B" >/dev/null
"$ADMIN" "$C" 203 wait 1 >/dev/null
"$ADMIN" "$B" 203 release 1 "mc@$C" >/dev/null
sleep 2
like "$(ask regions)" '"redirects":[1-9]' "a copy released without a word: lego-vmm followed the redirect"
like "$(copies_of 1)" "^2:live$" "... and vRegion 1's two entries merged into mc's copy"
ok "kill -0 $CPID" "the guest works on"
# Refusals.
like "$(ask 'region-drop 0@'"$C")" "last live copy" "dropping a vRegion's last live copy: refused"
like "$(ask 'region-add 0@'"$C")" "holds a live copy of the region" "a second copy on the same server: refused"
like "$(ask 'region-add 99@'"$C")" "vRegion 99 does not exist" "an unknown vRegion: refused"
like "$(ask 'region-add 0x'"$C")" "takes INDEX@HOST:PORT" "a malformed argument: refused"
like "$(ask 'region-add 3@127.0.0.1:1')" "cannot connect" "an unreachable server: refused, saying why"
like "$(ask 'region-live 3@'"$C")" "has no copy on" "region-live of a copy that does not exist: refused"
churn_stop
is "$CRC" 0 "the guest finished"
is "$(field "$TAP_TMP/move.txt" errors)" 0 "... with zero verification errors across the moves"
ok "[ $(field "$TAP_TMP/move.txt" passes) -ge 2 ]" "... over $(field "$TAP_TMP/move.txt" passes) passes"
diag "longest page access in a second of the moves: $(field "$TAP_TMP/move.txt" stall_max_ms) ms"
sanitizer_free "$TAP_TMP/move.txt" "moves"

# ---- the factor restored after a loss -----------------------------------------------------
churn_start "$TAP_TMP/heal.txt" --mmon "$A" --mmon "$B" --replicas 2 --vnode-id 204 \
	--seconds 120
sleep 1
kill -9 "$BPID"
wait "$BPID" 2>/dev/null
sleep 1
like "$(ask "server-lost $B")" '"kept_last_copies": 0' \
	"server-lost mb: none of its copies is a vRegion's last live one"
like "$(copies_of 0)" "^0:live 1:live!$" "vRegion 0: its copy on mb is failed"
healed=0
for r in 0 1 2 3 4 5; do
	ask "region-drop $r@$B" | grep -q '"done": "drop"' &&
		ask "region-add $r@$C" | grep -q '"done": "add"' &&
		"$ADMIN" "$C" 204 fill "$r" "$A" >/dev/null &&
		"$ADMIN" "$C" 204 wait "$r" 30000 >/dev/null &&
		ask "region-live $r@$C" | grep -q '"done": "live"' && healed=$((healed + 1))
done
is "$healed" 6 "every vRegion got a new copy on mc, filled from ma"
like "$(copies_of 5)" "^0:live 2:live$" "vRegion 5 has two live copies again"
mmon_start mb 256M
churn_stop
is "$CRC" 0 "the guest finished"
is "$(field "$TAP_TMP/heal.txt" errors)" 0 "... with zero verification errors"

# ---- replication 1 told its only server is lost: its own requests decide ------------------
# The control plane may lose a server that the VMM still reaches: the last live copy of a
# vRegion stays, and only the VMM's own failed requests stop it.
churn_start "$TAP_TMP/lost.txt" --mmon "$A" --vnode-id 205 --seconds 60 --kill "$APID" \
	--kill-after-ms 6000
like "$(ask "server-lost $A")" '"failed_copies": 0, "kept_last_copies": 6' \
	"server-lost of its only server (still up): its 6 copies stay, each its vRegion's last"
like "$(copies_of 0)" "^0:live$" "... live, not failed"
sleep 1
ok "kill -0 $CPID" "the vNode runs on (its RAM verified through the server the control plane lost)"
for _ in $(seq 300); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
wait "$CPID"
is "$?" 125 "ma then killed -9: the vNode stops (exit 125)"
like "$(cat "$TAP_TMP/lost.txt")" "error: memory server ma \\(127.0.0.1:[0-9]+\\): .*no other live copy" \
	"... naming the server"
unlike "$(cat "$TAP_TMP/lost.txt")" "^errors [1-9]" "... and no page was ever served wrong"
sanitizer_free "$TAP_TMP/lost.txt" "server-lost"
