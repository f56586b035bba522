#!/usr/bin/env bash
# pmon.t: lego-pmon (ASan+UBSan) against a stand-in lego-controld (cluster_probe
# controld-stub): registration and heartbeats, every kind of bad request (cluster_probe
# malformed), the vNode life cycle driven with a fake lego-vmm (a Python script that writes a
# console, answers its control socket, and exits, ignores SIGTERM or fails to execute as
# told; "migrate HOST:PORT" makes it exit 126 as a migrated source does), resource refusals,
# --incoming (a migration's destination) and the exit statuses of migration, shutdown on
# SIGTERM, and the command line; all over mutual TLS under a throw-away PKI (tests/lib/pki.sh:
# the stub presents a controld certificate, the probe an admin's). The same with the
# real lego-vmm and a booting guest is tests/vmm/pmon-vm.t.
. "$(dirname "$0")/../lib/tap.sh"
PMON=$BUILD/asan/bin/lego-pmon
PROBE=$BUILD/asan/bin/cluster_probe
tap_tmpdir
plan 95
. "$REPO/tests/lib/pki.sh"
pki_issue controld stub && pki_issue pmon pm1 && pki_issue pmon pm2 || echo "Bail out! no PKI"

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	for p in $(cat "$TAP_TMP"/vm-pids 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

wait_file() { # path [tenths]
	for _ in $(seq "${2:-100}"); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# A fake lego-vmm: takes lego-vmm's options; --append "exit=N" exits with N after 0.3 s,
# "term=ignore" ignores SIGTERM; otherwise it runs until signalled.
FAKE=$TAP_TMP/fake-vmm
cat >"$FAKE" <<'PY'
#!/usr/bin/python3
import os, signal, socket, sys, threading, time
args, opts, i = sys.argv[1:], {}, 0
open_fds = []
for fd in range(3, 256):
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass
while i < len(args):
    if args[i].startswith("--") and i + 1 < len(args):
        opts[args[i][2:]] = args[i + 1]
    i += 1
mode = dict(kv.split("=", 1) for kv in opts.get("append", "").split() if "=" in kv)
ignored = [s.name for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM,
                            signal.SIGUSR1) if signal.getsignal(s) == signal.SIG_IGN]
print("fake-vmm: sid=%d fds=%s sigmask=%s ignored=%s" % (os.getsid(0), open_fds or "none",
      sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])) or "none", ",".join(ignored) or "none"),
      flush=True)
with open(opts["console"], "w") as f:
    f.write("fake guest %s: hello\n" % opts.get("vnode-id", "---"))
if mode.get("term") == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
state = ["running"]
queued = [0]
def serve():
    # "sock=never": no control socket at all; "sock_after=S": made S seconds late (lego-vmm
    # makes it once its RAM is open).
    if mode.get("sock") == "never":
        return
    time.sleep(float(mode.get("sock_after", 0)))
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(opts["control"])
    srv.listen(8)
    while True:
        c, _ = srv.accept()
        cmd = c.makefile().readline().strip()
        if cmd == "stats":
            ans = '{"vnode": %s, "state": "%s"}' % (opts.get("vnode-id", 0), state[0])
        elif cmd in ("pause", "resume"):
            want = "paused" if cmd == "pause" else "running"
            if state[0] == want:
                ans = '{"error": "%s: already %s"}' % (cmd, want)
            else:
                state[0] = want
                ans = '{"state": "%s"}' % want
        elif cmd.startswith("migrate "):
            ans = '{"migration": "started"}'
            threading.Timer(0.3, lambda: os._exit(126)).start()
        elif cmd.startswith("console-in "):
            # A UART whose receive FIFO holds 200 bytes and a guest that never reads: what
            # it takes goes to CONSOLE.in.
            data = bytes.fromhex(cmd[11:])
            took = data[:200 - queued[0]]
            queued[0] += len(took)
            with open(opts["console"] + ".in", "ab") as f:
                f.write(took)
            ans = '{"accepted": %d, "queued": %d}' % (len(took), queued[0])
        else:
            ans = '{"error": "unknown command"}'
        c.sendall((ans + "\n").encode())
        c.close()
threading.Thread(target=serve, daemon=True).start()
if "exit" in mode:
    time.sleep(0.3)
    os._exit(int(mode["exit"]))
while True:
    time.sleep(1)
PY
chmod +x "$FAKE"

STUB_OUT=$TAP_TMP/controld.out
"$PROBE" controld-stub --listen 127.0.0.1:0 --port-file "$TAP_TMP/stub.port" \
	--out "$STUB_OUT" 2>"$TAP_TMP/stub.log" &
PIDS+=($!)
wait_file "$TAP_TMP/stub.port"
CTLD=127.0.0.1:$(cat "$TAP_TMP/stub.port")

RUN=$TAP_TMP/run
# --start-wait-ms 0: VM_START answered once lego-vmm is spawned, so that what follows sees
# every lego-vmm this fake can be (one that never answers, ends at once, cannot be run); a
# start answered once lego-vmm runs, or with its reason, is libvirt-api.t's.
"$PMON" --controld "$CTLD" --name pm1 --cores 4 --memory 1G --vmm "$FAKE" --run-dir "$RUN" \
	--start-wait-ms 0 --port-file "$TAP_TMP/pmon.port" 2>"$TAP_TMP/pmon.log" &
PPID_=$!
PIDS+=($PPID_)
wait_file "$TAP_TMP/pmon.port"
PORT=$(cat "$TAP_TMP/pmon.port")
P=127.0.0.1:$PORT
ok "[ -n '$PORT' ]" "lego-pmon listens on a port it picked ($PORT)"
is "$(stat -c %a "$RUN")" 700 "its run directory is created 0700"
wait_file "$STUB_OUT"
sleep 1
is "$(grep '^register' "$STUB_OUT")" \
	"register kind=1 name=pm1 cores=4 cap=1073741824 addr=127.0.0.1:$PORT" \
	"it registers as a processor host with its cores, memory and request address"
ok "[ $(grep -c '^hb used_cores=0 used_bytes=0 vms=$' "$STUB_OUT") -ge 3 ]" \
	"heartbeats every 200 ms: nothing used, no vNodes"

out=$("$PROBE" malformed "$P" 2>&1)
rc=$?
printf '%s\n' "$out" >"$TAP_TMP/malformed.log"
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out")
passed=$(grep -c '^ok ' <<<"$out")
is "$rc" 0 "cluster_probe malformed: every bad request answered as specified"
is "$passed" "${planned:-missing}" "cluster_probe malformed: $passed of ${planned:-?} checks passed"
grep '^not ok' <<<"$out" | while read -r l; do diag "$l"; done
ok "kill -0 $PPID_" "lego-pmon is still running after the bad requests"
log=$(cat "$TAP_TMP/pmon.log")
like "$log" "warn: admin 'operator' at 127\\.0\\.0\\.1:[0-9]+: VM_FORGET request [0-9]+ refused: protocol error: bad magic" \
	"a refusal is logged with its reason, and who asked (its certificate)"

# ---- the life cycle of a vNode --------------------------------------------------------
A=aaaaaaaa-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002
C=cccccccc-0000-4000-8000-000000000003
D=dddddddd-0000-4000-8000-000000000004
E=eeeeeeee-0000-4000-8000-000000000005
pc() { "$PROBE" "$1" "$P" "${@:2}"; }
last_hb() { grep '^hb ' "$STUB_OUT" | tail -n 1; }
wait_hb() { # regex: the latest heartbeat matches within 10 s
	for _ in $(seq 100); do
		last_hb | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	diag "latest heartbeat: $(last_hb)"
	return 1
}
vm_pid() { sed -n 's/^pid //p' <<<"$1"; }

out=$(pc start $A vm-a 7 501 1 64M --kernel guest.elf --mem 128M --mmon 127.0.0.1:9)
apid=$(vm_pid "$out")
echo "$apid" >>"$TAP_TMP/vm-pids"
like "$out" "^pid [0-9]+$" "VM_START: the reply carries the pid ($apid)"
ok "wait_hb 'used_cores=1 used_bytes=67108864 vms=$A:7:running:0$'" \
	"a heartbeat shows the vNode RUNNING, its core and ExCache memory in use"
cmdline=$(tr '\0' ' ' <"/proc/$apid/cmdline" 2>/dev/null)
like "$cmdline" "fake-vmm --kernel guest.elf --mem 128M --mmon 127\\.0\\.0\\.1:9 --vnode-id 501 --pki $LEGO_PKI --pki-name pm1 --control $RUN/$A.sock --console $RUN/$A.console --exit-file $RUN/$A.exit $" \
	"lego-vmm runs with the request's options, then --vnode-id and this host's certificate for migrations (remote memory), --control, --console and --exit-file"
like "$(cat "$TAP_TMP/pmon.log")" "info: started vNode vm-a \\($A, domid 7\\) pid $apid" \
	"the start is logged with name, uuid, domain id and pid"
for _ in $(seq 50); do [ -S "$RUN/$A.sock" ] && break; sleep 0.1; done
log=$(cat "$RUN/$A.log")
like "$log" "fake-vmm: sid=$apid fds=none sigmask=none ignored=none" \
	"lego-vmm leads its own session, with no inherited fds, no blocked or ignored signals (lego-pmon runs in the background here: a shell ignores SIGINT and SIGQUIT for it)"
like "$log" "^--- lego-pmon .*: vNode vm-a \\($A\\): .*fake-vmm --kernel" "its log starts with what was run"

out=$(pc console $A)
is "$out" "offset=0 state=running len=22"$'\n'"fake guest 501: hello" "VM_CONSOLE: the console from offset 0"
out=$(pc console $A 11 4)
is "$out" "offset=11 state=running len=4"$'\n'"501:" "VM_CONSOLE from an offset, at most max bytes"
is "$(pc console $A 1000 | head -n 1)" "offset=22 state=running len=0" \
	"VM_CONSOLE past the end: nothing, from the current end"
is "$(pc console-in $A hello)" "accepted=5 queued=5" "VM_CONSOLE_IN: lego-vmm's UART took the input"
big=$(printf 'x%.0s' $(seq 300))
is "$(pc console-in $A "$big")" "accepted=195 queued=200" \
	"VM_CONSOLE_IN of 300 bytes (3 console-in commands) for a UART with room for 195: how far it got"
is "$(cat "$RUN/$A.console.in")" "hello${big:0:195}" "... the bytes it took, in order"
is "$(pc console-in $A more)" "accepted=0 queued=200" "VM_CONSOLE_IN to a full UART: nothing taken"
unlike "$(cat "$TAP_TMP/pmon.log")" "hello|xxxxxxxxxxxxxxxx|6865" "console input is not logged"
is "$(pc ctl $A stats)" '{"vnode": 501, "state": "running"}' "VM_CTL stats: lego-vmm's answer"
is "$(pc ctl $A pause)" '{"state": "paused"}' "VM_CTL pause"
ok "wait_hb '$A:7:paused:0'" "a heartbeat shows the vNode PAUSED"
is "$(pc ctl $A pause)" '{"error": "pause: already paused"}' "a refused pause is passed on"
ok "wait_hb '$A:7:paused:0'" "... and the state stays PAUSED"
pc ctl $A resume >/dev/null
ok "wait_hb '$A:7:running:0'" "VM_CTL resume: RUNNING again"

out=$(pc start $A vm-a 7 501 1 64M --kernel guest.elf)
is "$?/$out" "5/error already exists: vNode vm-a ($A): vNode $A (vm-a) is already running here as pid $apid" \
	"VM_START of a running uuid: EEXIST"
out=$(pc start $C vm-c 9 503 4 64M --kernel guest.elf)
is "$?/$out" "6/error no space: vNode vm-c ($C): needs 4 cores but only 3 of 4 are free" \
	"VM_START for more cores than are free: ENOSPC saying so"
out=$(pc start $C vm-c 9 503 1 1000M --kernel guest.elf)
like "$?/$out" "^6/error no space: .*needs 1000 MiB of ExCache memory but only 960 of 1024 MiB are free$" \
	"VM_START for more memory than is free: ENOSPC saying so"
out=$(pc forget $A)
is "$?/$out" "3/error invalid argument: vNode $A is still running (pid $apid): stop it before forgetting it" \
	"VM_FORGET of a running vNode: EINVAL"

is "$(pc stop $A graceful)" ok "VM_STOP graceful"
ok "wait_hb 'used_cores=0 used_bytes=0 vms=$A:7:exited:143$'" \
	"a heartbeat shows it EXITED with status 143 (SIGTERM), nothing in use"
like "$(cat "$TAP_TMP/pmon.log")" "warn: vNode vm-a \\($A\\) pid $apid exited with status 143 \\(killed by signal 15\\)" \
	"the exit is logged"
is "$(pc stop $A force 10)" ok "VM_STOP of an exited vNode: OK"
out=$(pc ctl $A stats)
is "$?/$out" "4/error not found: vNode $A is not running (it exited with status 143): no control socket to ask" \
	"VM_CTL of an exited vNode: ENOENT"
is "$(pc console $A | head -n 1)" "offset=0 state=exited len=22" "VM_CONSOLE after the exit: state EXITED"
out=$(pc console-in $A late)
is "$?/$out" "4/error not found: no running vNode $A on this host" "VM_CONSOLE_IN to an exited vNode: ENOENT"
is "$(pc forget $A)" ok "VM_FORGET of the exited vNode"
ok "[ ! -e '$RUN/$A.sock' ] && [ ! -e '$RUN/$A.console' ] && [ -s '$RUN/$A.log' ]" \
	"its socket and console are deleted, its log kept"
ok "wait_hb 'vms=$'" "heartbeats no longer report it"
out=$(pc forget $A)
is "$?" 4 "VM_FORGET again: ENOENT"

# A vNode that exits by itself, and one started again under the same uuid.
bpid=$(vm_pid "$(pc start $B vm-b 8 502 2 128M --kernel g.elf --cpus 2 --append 'exit=42')")
ok "wait_hb '$B:8:exited:42'" "a vNode that exits by itself: EXITED with its status 42"
bpid2=$(vm_pid "$(pc start $B vm-b 8 502 1 128M --kernel g.elf --append 'exit=3')")
ok "[ -n '$bpid2' ] && [ '$bpid2' != '$bpid' ]" "an EXITED uuid can be started again (pid $bpid2)"
ok "wait_hb 'vms=$B:8:exited:3$'" "... and replaces the old record: one entry, status 3"
pc forget $B >/dev/null

# VM_STOP FORCE on a vNode that ignores SIGTERM.
cpid=$(vm_pid "$(pc start $C vm-c 9 503 1 64M --kernel g.elf --append 'term=ignore')")
echo "$cpid" >>"$TAP_TMP/vm-pids"
ok "wait_hb '$C:9:running:0'" "a vNode that ignores SIGTERM is running"
like "$(tr '\0' ' ' <"/proc/$cpid/cmdline")" "fake-vmm --kernel g\\.elf --append term=ignore --control $RUN/$C.sock --console $RUN/$C.console --exit-file $RUN/$C.exit $" \
	"without --mmon there is no --vnode-id (lego-vmm refuses it then)"
sleep 0.5 # let it install its SIGTERM disposition
t0=$(date +%s%N)
is "$(pc stop $C force 3000)" ok "VM_STOP force, grace 3000 ms: answered at once"
t1=$(date +%s%N)
# The call is a TLS handshake and one request (hundreds of ms with ASan on a loaded machine):
# well under the grace period, which it must not wait for.
ok "[ $(((t1 - t0) / 1000000)) -lt 2000 ]" "... without waiting for the grace period ($(((t1 - t0) / 1000000)) ms)"
ok "wait_hb '$C:9:exited:137'" "it is killed after the grace period: EXITED 137"
like "$(cat "$TAP_TMP/pmon.log")" "warn: vNode vm-c \\($C\\) pid $cpid did not stop in time: SIGKILL" \
	"the SIGKILL is logged"
pc forget $C >/dev/null

# A request to a new lego-vmm waits for its control socket, up to a bound, and only while the
# lego-vmm runs.
H=12121212-0000-4000-8000-000000000008
hpid=$(vm_pid "$(pc start $H vm-h 14 508 1 64M --kernel g.elf --append sock_after=1.5)")
echo "$hpid" >>"$TAP_TMP/vm-pids"
t0=$(date +%s%N)
is "$(pc ctl $H stats)" '{"vnode": 0, "state": "running"}' \
	"VM_CTL at once after VM_START: answered, once lego-vmm made its control socket (1.5 s later)"
t1=$(date +%s%N)
ok "[ $(((t1 - t0) / 1000000)) -ge 1000 ]" "... after waiting for it ($(((t1 - t0) / 1000000)) ms)"
unlike "$(cat "$TAP_TMP/pmon.log")" "VM_CTL request [0-9]+ refused: .*vm-h" "... with no refusal logged"
pc stop $H force 100 >/dev/null
ok "wait_hb '$H:14:exited:'" "it is stopped"
pc forget $H >/dev/null
hpid=$(vm_pid "$(pc start $H vm-h 14 508 1 64M --kernel g.elf --append sock=never)")
echo "$hpid" >>"$TAP_TMP/vm-pids"
t0=$(date +%s%N)
out=$(pc ctl $H stats)
rc=$?
t1=$(date +%s%N)
like "$rc/$out" "^[1-9][0-9]*/error .*: vNode vm-h \\($H\\): lego-vmm's control socket .* does not answer after 5000 ms" \
	"a lego-vmm that never makes its control socket: VM_CTL refused after a bounded wait, saying so"
ok "[ $(((t1 - t0) / 1000000)) -lt 9000 ]" "... within lego-controld's time for an answer ($(((t1 - t0) / 1000000)) ms)"
pc stop $H force 100 >/dev/null
ok "wait_hb '$H:14:exited:'" "it is stopped"
pc forget $H >/dev/null
hpid=$(vm_pid "$(pc start $H vm-h 14 508 1 64M --kernel g.elf --append 'sock=never exit=9')")
t0=$(date +%s%N)
out=$(pc ctl $H stats)
t1=$(date +%s%N)
like "$out" "lego-vmm ended before its control socket|it exited with status 9" \
	"a lego-vmm that ends without its control socket: VM_CTL refused, saying it ended"
ok "[ $(((t1 - t0) / 1000000)) -lt 3000 ]" "... without waiting out the bound ($(((t1 - t0) / 1000000)) ms)"
ok "wait_hb '$H:14:exited:9'" "it exited 9"
pc forget $H >/dev/null

# lego-vmm that cannot be executed: the child exits 127.
chmod -x "$FAKE"
dpid=$(vm_pid "$(pc start $D vm-d 10 504 1 64M --kernel g.elf)")
chmod +x "$FAKE"
ok "[ -n '$dpid' ]" "VM_START when lego-vmm cannot be executed: still a pid"
ok "wait_hb '$D:10:exited:127'" "... reported EXITED with status 127"
like "$(cat "$TAP_TMP/pmon.log")" "error: vNode vm-d \\($D\\) pid $dpid exited with status 127: lego-vmm could not be executed: Permission denied" \
	"... and logged with the reason"
like "$(cat "$RUN/$D.log")" "lego-pmon: cannot execute .*fake-vmm: Permission denied" "... also in the vNode's log"

# A migration's destination (--incoming) and source (migrate): their exits are told apart.
F=ffffffff-0000-4000-8000-000000000006
G=99999999-0000-4000-8000-000000000007
fpid=$(vm_pid "$(pc start $F vm-f 12 506 1 64M --kernel g.elf --mmon 127.0.0.1:9 --incoming 127.0.0.1:0 --append exit=124)")
ok "[ -n '$fpid' ]" "VM_START with --incoming HOST:0 (a migration's destination) is accepted"
like "$(cat "$TAP_TMP/pmon.log")" "info: started incoming vNode vm-f \\($F, domid 12\\) pid $fpid" \
	"... and logged as an incoming vNode"
ok "wait_hb '$F:12:exited:124'" "an incoming lego-vmm that gives up: EXITED 124"
like "$(cat "$TAP_TMP/pmon.log")" "vNode vm-f \\($F\\) pid $fpid exited with status 124: incoming migration aborted \\(nothing ran here\\)" \
	"... logged as an aborted incoming migration"
pc forget $F >/dev/null
out=$(pc start $F vm-f 12 506 1 64M --kernel g.elf --incoming 127.0.0.1:0)
is "$?/$out" "3/error invalid argument: vNode vm-f ($F): lego-vmm option --incoming needs the vNode's --mmon servers" \
	"--incoming without --mmon: EINVAL"
out=$(pc start $F vm-f 12 506 1 64M --kernel g.elf --mmon 127.0.0.1:9 --incoming nowhere)
is "$?/$out" "3/error invalid argument: vNode vm-f ($F): lego-vmm option --incoming 'nowhere' is not HOST:PORT" \
	"--incoming that is not HOST:PORT: EINVAL"
gpid=$(vm_pid "$(pc start $G vm-g 13 507 1 64M --kernel g.elf --mmon 127.0.0.1:9)")
echo "$gpid" >>"$TAP_TMP/vm-pids"
LONGHOST=$(printf 'h%.0s' $(seq 250))
for _ in $(seq 50); do [ -S "$RUN/$G.sock" ] && break; sleep 0.1; done
is "$(pc ctl $G "migrate $LONGHOST:65535")" '{"migration": "started"}' \
	"VM_CTL 'migrate HOST:PORT' with a 250-byte host (the long form) reaches lego-vmm"
ok "wait_hb '$G:13:exited:126'" "the migrated source lego-vmm exits 126"
like "$(cat "$TAP_TMP/pmon.log")" "info: vNode vm-g \\($G\\) pid $gpid: 'migrate h+:65535': \\{\"migration\": \"started\"\\}" \
	"the migrate command is logged with lego-vmm's answer"
like "$(cat "$TAP_TMP/pmon.log")" "vNode vm-g \\($G\\) pid $gpid exited with status 126: migrated \\(it runs on another host now\\)" \
	"its exit is logged as migrated"
pc forget $G >/dev/null

pc forget $A >/dev/null # a refusal over a second after the burst: the count is logged

# A second lego-pmon on the same run directory is refused.
"$PMON" --controld "$CTLD" --name pm2 --vmm "$FAKE" --run-dir "$RUN" 2>"$TAP_TMP/pm2.log"
is "$?" 1 "a second lego-pmon on the same run directory: exit 1"
like "$(cat "$TAP_TMP/pm2.log")" "another lego-pmon uses this run directory" "... saying why"

# SIGTERM: running vNodes are stopped, then lego-pmon leaves the cluster and exits 0.
epid=$(vm_pid "$(pc start $E vm-e 11 505 1 64M --kernel g.elf)")
echo "$epid" >>"$TAP_TMP/vm-pids"
ok "wait_hb '$E:11:running:0'" "one more vNode running"
kill -TERM "$PPID_"
wait "$PPID_"
is "$?" 0 "SIGTERM: lego-pmon exits 0"
ok "! kill -0 $epid 2>/dev/null" "... after stopping its running vNode"
log=$(cat "$TAP_TMP/pmon.log")
like "$log" "received signal 15: stopping 1 running vNode\\(s\\)" "the shutdown is logged"
like "$log" "pid $epid exited with status 143" "... with the vNode's exit"
like "$log" "warn: [0-9]+ more refused requests not logged" \
	"a burst of refusals is logged in part, and counted"
sleep 0.3
is "$(tail -n 1 "$STUB_OUT")" "disconnect name=pm1" "it leaves the cluster (the controld connection closes)"
unlike "$log" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"

# ---- the command line --------------------------------------------------------------------
like "$("$PMON" --help)" "--controld HOST:PORT" "--help describes the options"
like "$("$PMON" -V)" "lego-pmon \\(lego\\) cluster protocol 1" "-V prints the version"
"$PMON" --name x 2>/dev/null
is "$?" 64 "no --controld: exit 64"
"$PMON" --controld "$CTLD" 2>/dev/null
is "$?" 64 "no --name: exit 64"
"$PMON" --controld "$CTLD" --name a/b 2>/dev/null
is "$?" 64 "a name with a slash: exit 64"
"$PMON" --controld "$CTLD" --name x --cores 0 2>/dev/null
is "$?" 64 "--cores 0: exit 64"
"$PMON" --controld "$CTLD" --name x --memory 12Q 2>/dev/null
is "$?" 64 "--memory that is not a size: exit 64"
"$PMON" --controld "$CTLD" --name x --bogus 2>/dev/null
is "$?" 64 "an unknown option: exit 64"
out=$("$PMON" --controld "$CTLD" --name x --vmm "$TAP_TMP/none" --run-dir "$TAP_TMP/r2" 2>&1)
ok "[ $? = 1 ] && grep -q \"lego-vmm '$TAP_TMP/none' cannot be executed\" <<<\"\$out\"" \
	"a lego-vmm that is not there: exit 1 and why"
done_testing
