#!/usr/bin/env bash
# pmon-vm.t: lego-pmon (ASan+UBSan) running real vNodes with the ASan+UBSan lego-vmm next to
# it, against a stand-in lego-controld (cluster_probe controld-stub): a long memtest vNode
# (heartbeats, console, stats, pause/resume, refused for too many cores, VM_STOP FORCE), a
# guest that exits with status 42, a short memtest whose console shows its result and which
# VM_FORGET removes, and a vNode with its RAM on a memory server (lego-mmon). tests/host/pmon.t covers the protocol without KVM.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
PMON=$BUILD/asan/bin/lego-pmon
PROBE=$BUILD/asan/bin/cluster_probe
GUEST=$BUILD/images/lego-guest.elf
EXIT_GUEST=$BUILD/images/test-exit-code.elf
tap_tmpdir
tap_sockdir # the run directory holds the VMMs' control sockets
plan 34

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/pki.sh" # mutual TLS: the stub as controld, the probe as an admin
pki_issue controld stub && pki_issue pmon pmvm || echo "Bail out! no PKI"
PIDS=()
cleanup() {
	server_kill_all
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	for p in $(cat "$TAP_TMP"/vm-pids 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TAP_TMP" "$TAP_SOCK"
}
trap cleanup EXIT

wait_file() { # path
	for _ in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

no_sanitizer_report() { # file name
	unlike "$(cat "$1" 2>/dev/null)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" \
		"$2: no sanitizer report"
}

STUB_OUT=$TAP_TMP/controld.out
"$PROBE" controld-stub --listen 127.0.0.1:0 --port-file "$TAP_TMP/stub.port" \
	--out "$STUB_OUT" 2>"$TAP_TMP/stub.log" &
PIDS+=($!)
wait_file "$TAP_TMP/stub.port"

RUN=$TAP_SOCK/run
"$PMON" --controld "127.0.0.1:$(cat "$TAP_TMP/stub.port")" --name pmvm --cores 2 \
	--memory 512M --run-dir "$RUN" --port-file "$TAP_TMP/pmon.port" 2>"$TAP_TMP/pmon.log" &
PMON_PID=$!
PIDS+=($PMON_PID)
wait_file "$TAP_TMP/pmon.port"
P=127.0.0.1:$(cat "$TAP_TMP/pmon.port")
ok "wait_file '$STUB_OUT' && grep -q '^register kind=1 name=pmvm cores=2 cap=536870912 addr=$P$' '$STUB_OUT'" \
	"lego-pmon registers 2 cores and 512 MiB"
like "$(cat "$TAP_TMP/pmon.log")" "lego-vmm $BUILD/asan/bin/lego-vmm;" \
	"by default it runs the lego-vmm next to it"

A=aaaaaaaa-1111-4111-8111-000000000001
B=bbbbbbbb-1111-4111-8111-000000000002
C=cccccccc-1111-4111-8111-000000000003
pc() { "$PROBE" "$1" "$P" "${@:2}"; }
last_hb() { grep '^hb ' "$STUB_OUT" | tail -n 1; }
wait_hb() { # regex [seconds]: the latest heartbeat matches in time
	for _ in $(seq $((${2:-60} * 10))); do
		last_hb | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	diag "latest heartbeat: $(last_hb)"
	return 1
}
wait_console() { # uuid regex: the console shows it within 120 s
	for _ in $(seq 1200); do
		pc console "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	diag "console: $(pc console "$1" | tail -n 5)"
	return 1
}

# A: a long memtest.
out=$(pc start $A vm-a 3 601 1 64M --kernel "$GUEST" --mem 64M \
	--append "run=memtest memtest.size=32M memtest.passes=1000")
apid=$(sed -n 's/^pid //p' <<<"$out")
echo "$apid" >>"$TAP_TMP/vm-pids"
like "$out" "^pid [0-9]+$" "VM_START of a memtest vNode: pid $apid"
ok "wait_hb 'used_cores=1 used_bytes=67108864 vms=$A:3:running:0$'" "a heartbeat shows it RUNNING"
ok "wait_console $A 'lego-guest: abi'" "VM_CONSOLE returns the guest's console output"
out=$(pc ctl $A stats)
like "$out" '^\{"vnode": [0-9]+, "state": "running", "vcpus": 1, "mem_bytes": 67108864, .*"pager": null\}$' \
	"VM_CTL stats: lego-vmm's JSON (local memory: no pager)"
is "$(pc ctl $A pause)" '{"state": "paused"}' "VM_CTL pause"
ok "wait_hb '$A:3:paused:0'" "a heartbeat shows it PAUSED"
like "$(pc ctl $A stats)" '"state": "paused"' "lego-vmm agrees it is paused"
is "$(pc ctl $A resume)" '{"state": "running"}' "VM_CTL resume"
ok "wait_hb '$A:3:running:0'" "a heartbeat shows it RUNNING again"
out=$(pc start $C vm-c 5 603 2 16M --kernel "$GUEST" --cpus 2)
is "$?/$out" "6/error no space: vNode vm-c ($C): needs 2 cores but only 1 of 2 are free" \
	"a vNode for 2 vCPUs while 1 of 2 cores is taken: ENOSPC"

# B: a guest that exits with status 42 (while A runs on the other core).
out=$(pc start $B vm-b 4 602 1 8M --kernel "$EXIT_GUEST" --mem 8M)
like "$out" "^pid [0-9]+$" "VM_START of a guest that exits by itself"
ok "wait_hb '$B:4:exited:42'" "a heartbeat reports it EXITED with the guest's status 42"

# A stopped by force.
is "$(pc stop $A force 10000)" ok "VM_STOP FORCE of the memtest vNode"
ok "wait_hb 'used_cores=0 used_bytes=0 vms=.*$A:3:exited:(143|137)'" \
	"a heartbeat reports it EXITED with 143 (SIGTERM) or 137 (SIGKILL)"
like "$(cat "$RUN/$A.log")" "received signal 15: stopping the guest" "lego-vmm stopped on SIGTERM"

# C: a short memtest: its result on the console, then forgotten.
out=$(pc start $C vm-c 5 603 1 16M --kernel "$GUEST" --mem 16M --append "run=memtest memtest.size=1M")
like "$out" "^pid [0-9]+$" "VM_START of a short memtest"
ok "wait_hb '$C:5:exited:0' 300" "it exits with status 0"
out=$(pc console $C)
like "$out" "^offset=0 state=exited len=[0-9]+"$'\n'".*RESULT memtest PASS" \
	"its console holds the guest's result line, state EXITED"
is "$(pc forget $C)" ok "VM_FORGET"
ok "[ ! -e '$RUN/$C.console' ] && [ ! -e '$RUN/$C.sock' ] && [ -s '$RUN/$C.log' ]" \
	"console and socket deleted, log kept"
ok "wait_hb 'vms=$A:3:exited:(143|137),$B:4:exited:42$|vms=$B:4:exited:42,$A:3:exited:(143|137)$' 10" \
	"heartbeats no longer report it"

# D: guest RAM on a memory server: lego-pmon adds --vnode-id, so the server knows the vNode
# by the id lego-controld gave it.
mmon_start mm1 64M
D=dddddddd-1111-4111-8111-000000000004
out=$(pc start $D vm-d 6 604 1 4M --kernel "$GUEST" --mem 16M --cache 4M --region-size 2M \
	--mmon "127.0.0.1:$MMON_PORT" "${VMM_CAPS[@]}" \
	--append "run=memtest memtest.size=8M memtest.passes=1000")
echo "$(sed -n 's/^pid //p' <<<"$out")" >>"$TAP_TMP/vm-pids"
ok "[ -n '$MMON_PORT' ] && wait_console $D 'lego-guest: abi'" \
	"a vNode with its RAM on a memory server boots"
like "$(pc ctl $D stats)" '^\{"vnode": 604, .*"pager": \{' "VM_CTL stats: vNode 604, with pager figures"
like "$(cat "$TAP_TMP/mm1.log")" "vNode 604 \\(" "the memory server knows it as vNode 604"
is "$(pc stop $D graceful)" ok "VM_STOP graceful"
ok "wait_hb '$D:6:exited:143'" "a heartbeat reports it EXITED with 143"

kill -TERM "$PMON_PID"
wait "$PMON_PID"
is "$?" 0 "SIGTERM: lego-pmon exits 0"
no_sanitizer_report "$TAP_TMP/pmon.log" "lego-pmon"
no_sanitizer_report "$RUN/$A.log" "lego-vmm of the stopped vNode"
no_sanitizer_report "$RUN/$B.log" "lego-vmm of the exited vNode"
no_sanitizer_report "$RUN/$C.log" "lego-vmm of the forgotten vNode"
no_sanitizer_report "$RUN/$D.log" "lego-vmm with remote memory"
done_testing
