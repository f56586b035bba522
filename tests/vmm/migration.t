#!/usr/bin/env bash
# migration.t: lego-vmm live migration without the control plane: a 2-vCPU guest running a
# memtest verify loop and a blktest on a storage-server volume, its RAM on two memory servers
# with an ExCache smaller than its RAM, hops between lego-vmm processes 10 times mid-workload
# and finishes with every pattern and block verified; a destination frozen and killed -9
# mid-migration leaves the source running with nothing lost; refusals (unreachable
# destination, mismatched destination, local disk, malformed stream) leave everything intact;
# a destination that hangs up after GO leaves the source paused until migrate-resolve. The
# stream is mutual TLS between processor hosts' certificates (tests/lib/pki.sh): a plaintext
# source or one with another kind of certificate is refused by the destination, which waits
# on for the real one; a source refuses a plaintext destination, one whose certificate is not
# a processor host's, and to migrate at all without a certificate.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
CTLBIN=$BUILD/asan/bin/legoctl
GUEST=$BUILD/images/lego-guest.elf
tap_tmpdir
plan 63

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/pki.sh"
pki_issue pmon mig && pki_issue admin intruder || echo "Bail out! no PKI"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	server_kill_all
	tap_keep_logs migration
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}
# The release build: an ASan binary takes about a second just to start in the test bed.
ASK=$BUILD/release/bin/vmm_ask
ask() { # socket-name command: one request on an abstract control socket, its answer
	"$ASK" "@$1" "$2" 2>/dev/null
}
askf() { # socket-name command field: one field of the answer
	"$ASK" --field "$3" "@$1" "$2" 2>/dev/null
}
wait_exit() { # pid [tenths]: its exit status (killed after the limit: a hang must not stall)
	for _ in $(seq "${2:-3000}"); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}
wait_phase() { # socket phase-regex: until the migration phase is one of a|b|c; sets mst
	"$ASK" --field phase --until "$2" --timeout-ms 60000 "@$1" migration >/dev/null &&
		mst=$(ask "$1" migration)
}

wait_guest() { # socket: until the guest runs and has written to its console
	for _ in $(seq 300); do
		[ "$(askf "$1" stats console_bytes)" -gt 80 ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

mmon_start mm1 256M
P1=$MMON_PORT
mmon_start mm2 256M
P2=$MMON_PORT
vols=$TAP_TMP/vols
mkdir -p "$vols"
smon_start st1 --dir "$vols"
SP=$SMON_PORT
"$CTLBIN" --smon "127.0.0.1:$SP" volume create mvol 16M >/dev/null
ok "[ -n '$P1' ] && [ -n '$P2' ] && [ -n '$SP' ] && [ -f '$vols/mvol' ]" \
	"two memory servers and a storage server with a volume"

# Every VMM of the vNode gets the same vNode description; a destination adds --incoming.
TLS=(--pki "$PKI_DIR" --pki-name mig)
VN=(--mem 64M --cpus 2 --mmon "127.0.0.1:$P1" --mmon "127.0.0.1:$P2" --region-size 8M
	--cache 16M --vnode-id 4242 --disk "smon://127.0.0.1:$SP/mvol" --smon-channels 2 "${TLS[@]}"
	"${VMM_CAPS[@]}")
if kvm_nested; then PASSES=60; else PASSES=2000; fi
# The sources of sections 3, 4 and 6 must outlast their refusals, whose TLS timeouts do not
# shrink with the machine's speed: their memtest runs at least this many seconds (guest time).
if kvm_nested; then SRC2_SECONDS=180; else SRC2_SECONDS=60; fi
N=0
spawn_dest() { # [extra args]: a destination VMM, not waited for; sets DPID, DSOCK, DCON
	N=$((N + 1))
	DSOCK="lego-mig-$$-$N"
	DCON=$TAP_TMP/console-$N.txt
	"${DVMM:-$VMM}" "${VN[@]}" "$@" --incoming 127.0.0.1:0 --control "@$DSOCK" --console "$DCON" \
		>"$TAP_TMP/vmm-$N.log" 2>&1 </dev/null &
	DPID=$!
	PIDS+=("$DPID")
}
dest_listen() { # socket: the HOST:PORT it listens on, once it does (empty if it does not)
	wait_phase "$1" listening && askf "$1" migration listen
}
start_dest() { # [extra args]: spawn_dest, then wait until it listens; sets DLISTEN
	spawn_dest "$@"
	DLISTEN=$(dest_listen "$DSOCK")
}

# 1. The source: memtest (patterns, verified every pass) on 8 MiB in a 16 MiB ExCache of 64
# MiB RAM, then blktest on the volume.
SSOCK="lego-mig-$$-0"
"$VMM" --kernel "$GUEST" "${VN[@]}" --control "@$SSOCK" --console "$TAP_TMP/console-0.txt" \
	--append "run=memtest,blktest memtest.size=8M memtest.passes=$PASSES blktest.size=4M blktest.qd=8" \
	>"$TAP_TMP/vmm-0.log" 2>&1 </dev/null &
SPID=$!
PIDS+=("$SPID")
wait_guest "$SSOCK"
like "$(ask "$SSOCK" migration)" '"role": "none", "phase": "none"' "before any migration: role none"

# 2. Hops, each to a new lego-vmm, until the guest's work is done: at least ten of them
# mid-workload (exactly ten unless the guest finishes first). Destinations are started two hops ahead (a VMM takes seconds to
# start in the test bed); Q holds their indexes. Past the first two, they are the release
# build, which starts several times faster there (sections 3-5 run the ASan build on both
# ends again).
hops=0
downs=()
fails=
Q=()
CUR=0
while :; do
	while [ ${#Q[@]} -lt 2 ]; do
		DVMM=
		[ "$N" -ge 2 ] && DVMM=$BUILD/release/bin/lego-vmm
		spawn_dest
		Q+=("$N")
	done
	NEXT=${Q[0]}
	Q=("${Q[@]:1}")
	listen=$(dest_listen "lego-mig-$$-$NEXT")
	if [ -z "$listen" ]; then
		fails="hop $((hops + 1)): destination not listening"
		break
	fi
	grep -q "RESULT blktest" "$TAP_TMP/console-$CUR.txt" && break
	[ "$hops" -ge 10 ] && break
	a=$(ask "$SSOCK" "migrate $listen")
	if [ "$a" != '{"migration": "started"}' ]; then
		fails="hop $((hops + 1)): migrate answered $a"
		break
	fi
	rc_src=0
	wait_exit "$SPID" 600 || rc_src=$?
	if [ "$rc_src" = 0 ] && grep -q "RESULT blktest" "$TAP_TMP/console-$CUR.txt"; then
		ended_on_source=1 # the guest finished during the hop: the migration gave up
		break
	fi
	dst=$(askf "lego-mig-$$-$NEXT" migration phase)
	if [ "$rc_src" != 126 ] || [ "$dst" != running ]; then
		fails="hop $((hops + 1)): source exit $rc_src, destination $dst"
		break
	fi
	hops=$((hops + 1))
	downs+=("$(grep -o 'downtime [0-9.]* ms' "$TAP_TMP/vmm-$CUR.log" | tail -1 | cut -d' ' -f2)")
	SPID=${PIDS[$NEXT]}
	SSOCK="lego-mig-$$-$NEXT"
	CUR=$NEXT
done
LAST=$CUR
ok "[ $hops -ge 10 ] && [ -z '$fails' ]" "$hops live migrations mid-workload (at least 10) ${fails:+($fails)}"
diag "downtimes (ms): ${downs[*]}"
rc=0
if [ -n "${ended_on_source:-}" ]; then rc=$rc_src; else wait_exit "$SPID" || rc=$?; fi
for i in $(seq $((CUR + 1)) "$N"); do # the spare destinations, which never ran it
	kill -TERM "${PIDS[$i]}" 2>/dev/null
	wait_exit "${PIDS[$i]}" 100 >/dev/null
done
final=$(cat "$TAP_TMP/console-$LAST.txt")
is "$rc" 0 "the guest ends on its last host with exit status 0"
like "$final" "RESULT memtest PASS .*vcpus=2 .*errors=0" "memtest: every pass verified across the hops"
like "$final" "RESULT blktest PASS" "blktest: every block written and read back intact"
like "$final" "lego-guest: abi=1 vcpus=2" "the last host's console holds the whole history"
is "$(grep -c 'lego-guest: abi' "$TAP_TMP/console-$LAST.txt")" 1 "... exactly once"
logs=$(cat "$TAP_TMP"/vmm-*.log)
is "$(grep -c 'migration: the vNode runs here' <<<"$logs")" "$hops" "every destination ran the vNode"
is "$(grep -c 'vNode migrated away' <<<"$logs")" "$hops" "every source ended as migrated"
like "$(cat "$TAP_TMP"/vmm-[1-9]*.log)" "pager: faults=[1-9][0-9]* remote_fetches=[1-9]" \
	"a destination served faults from the memory servers"
like "$logs" "pager: prefetched [1-9][0-9]* of [0-9]+ hot page" \
	"destinations prefetch the pages that were hot on the source"
no_sanitizer_report "$logs" "the hops"
ok "grep -q 'vNode ended with status 0' '$TAP_TMP/vmm-$LAST.log'" "the last host ended the vNode normally"

# 3. A destination frozen (SIGSTOP) and then killed -9 mid-migration: the source, paused and
# waiting for the destination's READY, resumes; the guest finishes with nothing lost.
SSOCK="lego-mig-$$-src2"
"$VMM" --kernel "$GUEST" "${VN[@]}" --control "@$SSOCK" --console "$TAP_TMP/console-src2.txt" \
	--append "run=memtest,blktest memtest.size=8M memtest.passes=$PASSES memtest.seconds=$SRC2_SECONDS blktest.size=4M" \
	>"$TAP_TMP/vmm-src2.log" 2>&1 </dev/null &
SPID=$!
PIDS+=("$SPID")
wait_guest "$SSOCK"
start_dest
# Frozen once the stream's TLS handshake is done (it needs the destination awake).
is "$(ask "$SSOCK" "migrate $DLISTEN")" '{"migration": "started"}' "migration to a destination about to be frozen starts"
wait_phase "$DSOCK" "receiving|ready"
kill -STOP "$DPID"
ok "wait_phase '$SSOCK' 'sending'" "the source paused and sent its state; it waits for READY"
is "$(askf "$SSOCK" stats state)" paused "... with its vCPUs paused"
kill -9 "$DPID"
ok "wait_phase '$SSOCK' 'failed'" "killing the destination -9 fails the migration"
like "$(askf "$SSOCK" migration error)" "closed the connection|Connection reset|refused" "... the error says the destination went away"
sleep 0.5
is "$(askf "$SSOCK" stats state)" running "the source resumed its vCPUs"
like "$(ask "$SSOCK" pause)" '"state": "paused"' "pause works again after a failed migration"
like "$(ask "$SSOCK" resume)" '"state": "running"' "... and resume"

# 4. Refusals, each leaving the source running.
dead_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
is "$(ask "$SSOCK" "migrate 127.0.0.1:$dead_port")" '{"migration": "started"}' "migration to a port nobody listens on starts"
ok "wait_phase '$SSOCK' failed" "... and fails"
like "$(askf "$SSOCK" migration error)" "cannot reach the destination 127.0.0.1:$dead_port" "... naming the destination"
like "$(ask "$SSOCK" "migrate nowhere")" '"error": "the destination must be HOST:PORT"' "a malformed destination is refused"
like "$(ask "$SSOCK" "migrate-resolve commit")" '"error": "nothing to resolve' "migrate-resolve outside the uncertain state is refused"
like "$(ask "$SSOCK" "migrate-cancel")" '"error": "no migration to cancel"' "migrate-cancel with nothing under way is refused"
# A destination built for another vNode shape refuses the stream; the source resumes.
VN_SAVE=("${VN[@]}")
VN=(--mem 32M --cpus 2 --mmon "127.0.0.1:$P1" --mmon "127.0.0.1:$P2" --region-size 8M
	--cache 16M --vnode-id 4242 --disk "smon://127.0.0.1:$SP/mvol" --smon-channels 2 "${TLS[@]}"
	"${VMM_CAPS[@]}")
start_dest
VN=("${VN_SAVE[@]}")
ask "$SSOCK" "migrate $DLISTEN" >/dev/null
ok "wait_phase '$SSOCK' failed" "a destination with 32M of RAM refuses a 64M vNode"
like "$(askf "$SSOCK" migration error)" "the destination refused: the source's guest RAM size is 67108864, this VMM's is 33554432" \
	"... and the source reports the destination's reason"
rc=0
wait_exit "$DPID" 300 || rc=$?
is "$rc" 124 "the refusing destination exits 124 (never ran)"
is "$(askf "$SSOCK" stats state)" running "the source runs on"
# The hand-over's blind spot: a destination that takes GO and hangs up without RUNNING. The
# source cannot know whether it runs: it stays paused ("uncertain") until migrate-resolve.
cat >"$TAP_TMP/fake_dest.py" <<'PY'
import socket, ssl, struct, sys
# A lego-vmm --incoming stand-in: takes the stream up to END, says READY, takes GO, hangs up.
# Over TLS with the certificate KIND-NAME of the PKI (argv[2], argv[3]); "plain": no TLS.
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
# Bounded: a source that never comes, or stops talking, must not hang the test.
srv.settimeout(300)
open(sys.argv[1], "w").write("127.0.0.1:%d\n" % srv.getsockname()[1])
try:
    c, _ = srv.accept()
except OSError:
    sys.exit(4)
c.settimeout(300)
if sys.argv[3] != "plain":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain("%s/%s.pem" % (sys.argv[2], sys.argv[3]),
                        "%s/%s-key.pem" % (sys.argv[2], sys.argv[3]))
    ctx.load_verify_locations(sys.argv[2] + "/ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        c = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError):
        sys.exit(3)
def take(n):
    b = b""
    while len(b) < n:
        try:
            d = c.recv(n - len(b))
        except OSError:
            sys.exit(4)
        if not d:
            sys.exit(1)
        b += d
    return b
def msg():
    magic, typ, ver, ln, res = struct.unpack("<IHHII", take(16))
    take(ln)
    return typ
while msg() != 9:  # END
    pass
c.sendall(struct.pack("<IHHII", 0x5647454C, 10, 1, 0, 0))  # READY
ok = msg() == 11  # GO
c.close()
sys.exit(0 if ok else 2)
PY
fake_dest() { # [CERT|plain]: starts the stand-in (default: pmon mig's certificate); sets
	# FAKE_PID and FAKE_ADDR
	rm -f "$TAP_TMP/fake.addr"
	/usr/bin/python3 "$TAP_TMP/fake_dest.py" "$TAP_TMP/fake.addr" "$PKI_DIR" "${1:-pmon-mig}" &
	FAKE_PID=$!
	for _ in $(seq 300); do [ -s "$TAP_TMP/fake.addr" ] && break; sleep 0.1; done
	FAKE_ADDR=$(cat "$TAP_TMP/fake.addr")
}
fake_dest
ask "$SSOCK" "migrate $FAKE_ADDR" >/dev/null
ok "wait_phase '$SSOCK' uncertain" "GO taken, RUNNING never sent: the source is uncertain"
is "$(askf "$SSOCK" stats state)" paused "... and stays paused (it must not run twice)"
like "$(ask "$SSOCK" migrate-cancel)" '"error": "too late' "... migrate-cancel is refused: too late"
is "$(ask "$SSOCK" "migrate-resolve abort")" '{"migration": "resolved"}' "migrate-resolve abort (the destination never ran)"
ok "wait_phase '$SSOCK' failed" "... the migration is failed"
is "$(askf "$SSOCK" stats state)" running "... and the source runs on"
wait "$FAKE_PID"
# The source checks its destination: plaintext, or a certificate that is not a processor
# host's, fails the migration before anything is sent; the vNode runs on.
fake_dest plain
ask "$SSOCK" "migrate $FAKE_ADDR" >/dev/null
ok "wait_phase '$SSOCK' failed" "a destination that does not speak TLS: the migration fails"
like "$(askf "$SSOCK" migration error)" "cannot reach the destination .*TLS" "... saying so"
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
fake_dest admin-intruder
ask "$SSOCK" "migrate $FAKE_ADDR" >/dev/null
ok "wait_phase '$SSOCK' failed" "a destination with an admin's certificate: the migration fails"
like "$(askf "$SSOCK" migration error)" "is not the pmon expected: its certificate grants admin 'intruder'" \
	"... naming what its certificate grants"
wait "$FAKE_PID" 2>/dev/null
is "$(askf "$SSOCK" stats state)" running "... and the source runs on"
rc=0
wait_exit "$SPID" || rc=$?
out=$(cat "$TAP_TMP/console-src2.txt")
is "$rc" 0 "after the failed migrations the guest ends with exit status 0"
like "$out" "RESULT memtest PASS .*errors=0" "... memtest verified: nothing lost"
like "$out" "RESULT blktest PASS" "... blktest verified"
no_sanitizer_report "$(cat "$TAP_TMP/vmm-src2.log")" "failed migrations (source)"

# 5. A destination takes only a processor host's certificate (a plaintext source and one with
# an admin's are refused, and it waits on); a malformed stream: refused with exit 124 and a
# clear log line.
send_stream() { # HOST:PORT CERT|plain BYTES(python): connect, send, wait for the close
	/usr/bin/python3 -c '
import socket, ssl, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)))
if sys.argv[3] != "plain":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(sys.argv[2] + "/ca.pem")
    ctx.load_cert_chain("%s/%s.pem" % (sys.argv[2], sys.argv[3]),
                        "%s/%s-key.pem" % (sys.argv[2], sys.argv[3]))
    s = ctx.wrap_socket(s)
s.sendall(eval(sys.argv[4]))
s.settimeout(30)
s.recv(4096)
' "$1" "$PKI_DIR" "$2" "$3" 2>/dev/null
}
start_dest
send_stream "$DLISTEN" plain 'b"LEGV\x01\x00\x01\x00" + bytes(1000)'
ok "grep -q 'incoming migration: refused 127.0.0.1:[0-9]*: the peer does not speak TLS' '$TAP_TMP/vmm-$N.log'" \
	"a plaintext migration stream is refused, with a log line"
send_stream "$DLISTEN" admin-intruder 'b"LEGV\x01\x00\x01\x00" + bytes(1000)'
ok "grep -q \"incoming migration: refused 127.0.0.1:[0-9]*: only a processor host's certificate may send a vNode, and this one grants admin 'intruder'\" '$TAP_TMP/vmm-$N.log'" \
	"a source with an admin's certificate is refused, with a log line"
is "$(askf "$DSOCK" migration phase)" listening "... and the destination waits on for its source"
send_stream "$DLISTEN" pmon-mig 'b"LEGV\x01\x00\x01\x00" + (999).to_bytes(4, "little") + b"\0\0\0\0" + b"x" * 999'
rc=0
wait_exit "$DPID" 300 || rc=$?
is "$rc" 124 "a HELLO of the wrong length: the destination exits 124"
like "$(cat "$TAP_TMP/vmm-$N.log")" "incoming migration refused: malformed HELLO: message has the wrong length" \
	"... saying what was wrong"
start_dest
send_stream "$DLISTEN" pmon-mig 'b"GET / HTTP/1.0\r\n\r\n"'
rc=0
wait_exit "$DPID" 300 || rc=$?
is "$rc" 124 "an HTTP request instead of a stream: exit 124"
like "$(cat "$TAP_TMP/vmm-$N.log")" "bad magic" "... bad magic"
no_sanitizer_report "$(cat "$TAP_TMP"/vmm-$((N - 1)).log "$TAP_TMP/vmm-$N.log")" "malformed streams"

# 6. A vNode with a local disk, or with local RAM, cannot migrate.
"$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 64M --mmon "127.0.0.1:$P1" --disk "$vols/mvol" \
	--control "@lego-mig-$$-local" --append "run=memtest memtest.passes=$PASSES" \
	>"$TAP_TMP/vmm-local.log" 2>&1 </dev/null &
LPID=$!
PIDS+=("$LPID")
wait_guest "lego-mig-$$-local"
like "$(ask "lego-mig-$$-local" "migrate 127.0.0.1:1")" '"error": "a disk is a local file' "a local-file disk: refused"
kill -TERM "$LPID"
wait_exit "$LPID" >/dev/null
"$VMM" --kernel "$GUEST" --mem 64M --control "@lego-mig-$$-local" \
	--append "run=memtest memtest.passes=$PASSES" >"$TAP_TMP/vmm-local2.log" 2>&1 </dev/null &
LPID=$!
PIDS+=("$LPID")
wait_guest "lego-mig-$$-local"
like "$(ask "lego-mig-$$-local" "migrate 127.0.0.1:1")" '"error": "the vNode.s RAM is local' "local RAM: refused"
kill -TERM "$LPID"
wait_exit "$LPID" >/dev/null
# migrate-resolve commit: the source ends as migrated (126), without freeing the vRegions.
"$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 64M --mmon "127.0.0.1:$P1" --vnode-id 4343 \
	--control "@lego-mig-$$-commit" --append "run=memtest memtest.passes=$PASSES" \
	>"$TAP_TMP/vmm-commit.log" 2>&1 </dev/null &
CPID=$!
PIDS+=("$CPID")
wait_guest "lego-mig-$$-commit"
# Without a processor host's certificate (lego-pmon gives one) nor --insecure-migration, no
# migration leaves.
like "$(ask "lego-mig-$$-commit" "migrate 127.0.0.1:1")" '"error": "no TLS for the migration stream' \
	"a source without a certificate: migrate is refused (plaintext migration refused)"
kill -TERM "$CPID"
wait_exit "$CPID" >/dev/null
"$VMM" "${VMM_CAPS[@]}" --kernel "$GUEST" --mem 64M --mmon "127.0.0.1:$P1" --vnode-id 4343 "${TLS[@]}" \
	--control "@lego-mig-$$-commit" \
	--append "run=memtest memtest.passes=$PASSES memtest.seconds=$SRC2_SECONDS" \
	>"$TAP_TMP/vmm-commit.log" 2>&1 </dev/null &
CPID=$!
PIDS+=("$CPID")
wait_guest "lego-mig-$$-commit"
fake_dest
ask "lego-mig-$$-commit" "migrate $FAKE_ADDR" >/dev/null
wait_phase "lego-mig-$$-commit" uncertain
is "$(ask "lego-mig-$$-commit" "migrate-resolve commit")" '{"migration": "resolved"}' "an uncertain source told to commit"
rc=0
wait_exit "$CPID" 300 || rc=$?
is "$rc" 126 "... ends with 126 (migrated)"
wait "$FAKE_PID"
out=$("$VMM" --mem 64M --incoming 127.0.0.1:0 2>&1 </dev/null)
is "$?" 64 "--incoming without --mmon: exit 64"
like "$out" "--incoming needs --mmon" "... saying why"
out=$("$VMM" --mem 64M --mmon 127.0.0.1:1 --incoming 127.0.0.1:0 2>&1 </dev/null)
like "$?/$out" "^64/.*--incoming needs this processor host's certificate" \
	"--incoming without a certificate nor --insecure-migration: exit 64, saying why"
done_testing
