#!/usr/bin/env bash
# console.t: `virsh console` both ways through lego-controld and lego-pmon, without booting a
# guest: Debian's virsh on a pseudo-terminal (tests/lib/console-drive) types into a fake
# lego-vmm whose guest echoes each line it reads from a bounded UART FIFO; one console per
# vNode ("Active console session exists", --force takes it over), none on the read-only
# socket; python3-libvirt's stream with a guest that stops reading: input waits (nothing lost)
# up to lego-controld's 4 KiB per stream, beyond it is dropped and counted.
. "$(dirname "$0")/../lib/tap.sh"
DRIVE=$REPO/tests/lib/console-drive
tap_tmpdir
plan 26

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
trap 'cluster_cleanup; rm -rf "$TAP_TMP"' EXIT

FAKE=$TAP_TMP/fake-vmm
cat >"$FAKE" <<'PY'
#!/usr/bin/python3
# A fake lego-vmm: its console file and control socket; console-in puts bytes into a UART
# FIFO of 1024 bytes (what does not fit is not taken, as lego-vmm's); its "guest" reads the
# FIFO every 20 ms unless $FAKE_KNOBS/deaf exists, and echoes each line as "echo: LINE".
# $FAKE_KNOBS/queued: the FIFO's fill after each console-in.
import json, os, socket, sys, threading, time
args, opts, i = sys.argv[1:], {}, 0
while i + 1 < len(args):
    opts[args[i][2:]] = args[i + 1]
    i += 2
knobs = os.environ["FAKE_KNOBS"]
FIFO = 1024
fifo, lock, got = bytearray(), threading.Lock(), [0]
out = open(opts["console"], "ab", buffering=0)
out.write(b"fake guest: login-free shell ready\n")

def guest():
    line = b""
    while True:
        time.sleep(0.02)
        if os.path.exists(os.path.join(knobs, "deaf")):
            continue
        with lock:
            data = bytes(fifo)
            fifo.clear()
        got[0] += len(data)
        for b in data:
            if b in (10, 13):
                if line:
                    out.write(b"echo: " + line + b"\n")
                line = b""
            else:
                line += bytes([b])

def answer(cmd):
    if cmd.startswith("console-in "):
        try:
            data = bytes.fromhex(cmd[11:])
        except ValueError:
            return '{"error": "console-in takes hex"}'
        with lock:
            took = data[:FIFO - len(fifo)]
            fifo.extend(took)
            queued = len(fifo)
        with open(os.path.join(knobs, "queued"), "w") as f:
            f.write("%d\n" % queued)
        return json.dumps({"accepted": len(took), "queued": queued})
    if cmd == "stats":
        return json.dumps({"vnode": 1, "state": "running", "console_in_bytes": got[0]})
    return '{"error": "unknown command"}'

srv = socket.socket(socket.AF_UNIX)
srv.bind(opts["control"])
srv.listen(8)
threading.Thread(target=guest, daemon=True).start()
while True:
    c, _ = srv.accept()
    cmd = c.makefile().readline().strip()
    c.sendall((answer(cmd) + "\n").encode())
    c.close()
PY
chmod +x "$FAKE"
KNOBS=$TAP_TMP/knobs
mkdir -p "$KNOBS"
export FAKE_KNOBS=$KNOBS

controld_start
pmon_start host-a --cores 2 --memory 512M --vmm "$FAKE"
cluster_mmon mem-a 256M
ok "wait_alive 2" "lego-controld, a processor host (with the fake lego-vmm) and a memory server"
cat >"$TAP_TMP/vn.xml" <<EOF
<domain type='lego'><name>vn</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>/srv/guest.elf</kernel></os>
</domain>
EOF
lvirsh define "$TAP_TMP/vn.xml" >/dev/null 2>&1
like "$(lvirsh start vn 2>&1)" "Domain 'vn' started" "virsh start"
uuid=$(lvirsh domuuid vn | head -n 1)
CON=$CLUSTER_RUN/pmon-host-a/$uuid.console
ok "[ -s '$CON' ]" "the fake guest's console is there"

console() { # name steps...: console-drive on virsh console vn, its output in $TAP_TMP/name.out
	local name=$1
	shift
	"$DRIVE" --log "$TAP_TMP/$name.out" --timeout 30 "$@" 2>"$TAP_TMP/$name.err"
}
# 1. A line typed into virsh console comes back as the guest's echo; Ctrl-] leaves.
console one --expect 'Escape character is \^\]' --raw --send 'hello lego\r' --expect 'echo: hello lego' \
	--send '\x1d' --exit 0 -- virsh -c "$LIBVIRT_URI" console vn
is "$?" 0 "virsh console: typed 'hello lego', saw the guest's echo, left with Ctrl-] (exit 0) $(tail -c 300 "$TAP_TMP/one.err")"
like "$(cat "$TAP_TMP/one.out")" "fake guest: login-free shell ready" "... after the console's history"
like "$(cat "$CON")" "echo: hello lego" "the guest read the line from its UART"

# 2. One console per vNode: a second client is refused while the first holds it; --force
# takes it over, and the first client's stream ends.
console first --expect 'Escape character' --raw --send 'first\r' --expect 'echo: first' \
	--mark "$TAP_TMP/first.ready" --exit any -- virsh -c "$LIBVIRT_URI" console vn &
fpid=$!
for _ in $(seq 300); do [ -e "$TAP_TMP/first.ready" ] && break; sleep 0.1; done
ok "[ -e '$TAP_TMP/first.ready' ]" "a first client holds the console"
console second --expect 'Active console session exists for this domain' --exit 1 \
	-- virsh -c "$LIBVIRT_URI" console vn
is "$?" 0 "a second virsh console: 'error: operation failed: Active console session exists for this domain', exit 1 $(tail -c 300 "$TAP_TMP/second.err")"
console forced --expect 'Escape character' --raw --send 'forced\r' --expect 'echo: forced' \
	--send '\x1d' --exit 0 -- virsh -c "$LIBVIRT_URI" console vn --force
is "$?" 0 "virsh console --force takes the console over and types through it $(tail -c 300 "$TAP_TMP/forced.err")"
wait "$fpid"
is "$?" 0 "the first client's stream ended: its virsh left"
like "$(cat "$TAP_TMP/controld.log")" "the console of vNode vn was taken over by another client" \
	"lego-controld says so"
console again --expect 'Escape character' --raw --send 'again\r' --expect 'echo: again' \
	--send '\x1d' --exit 0 -- virsh -c "$LIBVIRT_URI" console vn
is "$?" 0 "once they left, a new console opens without --force $(tail -c 300 "$TAP_TMP/again.err")"

# 3. Not on the read-only socket.
console ro --expect 'read only access prevents' --exit 1 -- virsh -c "$LIBVIRT_RO_URI" console vn
is "$?" 0 "virsh console on the read-only socket: refused $(tail -c 300 "$TAP_TMP/ro.err")"

# 4. python3-libvirt: a guest that stops reading. 3000 bytes wait (the UART takes 1024, the
# rest waits in lego-controld) and all arrive once it reads again; 20000 bytes at once are
# more than lego-controld keeps for a stream (4096): the rest is dropped and counted.
cat >"$TAP_TMP/flood.py" <<'EOF'
import os, sys, threading, time, libvirt
uri, knobs, con = sys.argv[1], sys.argv[2], sys.argv[3]
deaf, queued = os.path.join(knobs, "deaf"), os.path.join(knobs, "queued")
libvirt.registerErrorHandler(lambda ctx, err: None, None)  # the drain's end is expected
conn = libvirt.open(uri)
dom = conn.lookupByName("vn")
st = conn.newStream(0)
dom.openConsole(None, st, 0)
def drain():
    try:
        while st.recv(65536):
            pass
    except libvirt.libvirtError:
        pass  # the stream was finished
threading.Thread(target=drain, daemon=True).start()
def wait_for(what, check, secs=60):
    end = time.time() + secs
    while time.time() < end:
        if check():
            return True
        time.sleep(0.1)
    print("timeout waiting for", what)
    return False
def fill():
    try:
        return int(open(queued).read())
    except (OSError, ValueError):
        return -1
def echoed(line):
    return ("echo: " + line).encode() in open(con, "rb").read()
os.remove(queued) if os.path.exists(queued) else None
open(deaf, "w").close()
st.send(b"".join(b"w-%05d\n" % i for i in range(375)))  # 3000 bytes
print("uart full", wait_for("the UART to fill", lambda: fill() == 1024))
time.sleep(0.5)
print("still full", fill())
os.remove(deaf)
print("all echoed", wait_for("w-00374", lambda: echoed("w-00374")))
open(deaf, "w").close()
os.remove(queued)
st.send(b"".join(b"d-%05d\n" % i for i in range(2500)))  # 20000 bytes
wait_for("the UART to fill again", lambda: fill() == 1024)
os.remove(deaf)
print("kept", wait_for("d-00511", lambda: echoed("d-00511")))
st.send(b"after\n")
print("after", wait_for("after", lambda: echoed("after")))
print("dropped d-00512", echoed("d-00512"), "d-02499", echoed("d-02499"))
st.finish()
conn.close()
EOF
py=$(timeout 200 /usr/bin/python3 "$TAP_TMP/flood.py" "$LIBVIRT_URI" "$KNOBS" "$CON" 2>&1)
diag "$py"
like "$py" "uart full True" "a guest that does not read: its UART takes 1024 bytes of 3000"
like "$py" "still full 1024" "... and no more while it does not read"
like "$py" "all echoed True" "once it reads again, every one of the 3000 bytes arrives (input waits, nothing lost)"
like "$py" "kept True" "20000 bytes at once: the first 4096 (what lego-controld keeps per stream) arrive"
like "$py" "dropped d-00512 False d-02499 False" "... the rest was dropped"
like "$py" "after True" "the console goes on after the drop"
log=$(cat "$TAP_TMP/controld.log")
like "$log" "console of vNode vn: the guest is not reading; input beyond 4096 waiting bytes is dropped" \
	"lego-controld says when it starts dropping input"
like "$log" "console of vNode vn: 15904 input byte\\(s\\) dropped in all" "... and how much, when the stream ends"
w=$(grep -c '^echo: w-' "$CON")
d=$(grep -c '^echo: d-' "$CON")
is "$w/$d" "375/512" "the guest echoed each line once, in order: 375 of 375, then 512 of 2500"
ok "grep '^echo: w-' '$CON' | LC_ALL=C sort -c && grep '^echo: d-' '$CON' | LC_ALL=C sort -c" \
	"... in the order they were sent"
unlike "$log$(cat "$CLUSTER_RUN"/pmon-host-a/*.log "$TAP_TMP"/host-a.log 2>/dev/null)" "hello lego|w-00001|d-00001" \
	"no daemon logged the console input"

# 5. The stream ends with the vNode.
console ends --expect 'Escape character' --mark "$TAP_TMP/ends.ready" --exit 0 \
	-- virsh -c "$LIBVIRT_URI" console vn &
epid=$!
for _ in $(seq 300); do [ -e "$TAP_TMP/ends.ready" ] && break; sleep 0.1; done
lvirsh destroy vn >/dev/null 2>&1
wait "$epid"
is "$?" 0 "a console open while the vNode is destroyed: its stream ends, virsh leaves (exit 0) $(tail -c 300 "$TAP_TMP/ends.err")"
logs=$(cat "$TAP_TMP"/*.log "$CLUSTER_RUN"/pmon-*/*.log 2>/dev/null)
unlike "$logs" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report from any daemon"
done_testing
