#!/usr/bin/env bash
# install.t: lego as services. `make install DESTDIR=... PREFIX=/usr` stages the programs, the
# guest images, the systemd units and their options files; the real systemd-analyze verify
# passes on each unit as installed (a scratch root: the staged tree and this machine's own
# units and /bin/kill); every options file and unit command line is one the program's parser
# takes; a reinstall keeps an edited options file. The installed daemons log to the journal's
# format ("<N>" priorities, no timestamps) when their stderr is the JOURNAL_STREAM, and tell
# NOTIFY_SOCKET READY=1 and STOPPING=1 as systemd's Type=notify expects. lego-controld
# --metrics (ASan+UBSan) with a memory server and a processor host running a stand-in lego-vmm
# (tests/lib/stand-in-vmm): the real promtool check metrics passes on the page, which holds
# the registered servers' capacities, vNodes by state, a vNode's pager figures as its
# lego-vmm reports them, a pool job and a failed migration with their durations; the HTTP
# side answers only GET and HEAD of /metrics and refuses what is not a small HTTP request.
. "$(dirname "$0")/../lib/tap.sh"
tap_tmpdir
plan 66

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
NOTIFY_PID=
trap '[ -n "$NOTIFY_PID" ] && kill "$NOTIFY_PID" 2>/dev/null; cluster_cleanup; rm -rf "$TAP_TMP"' EXIT
D=$TAP_TMP/dest
CTL=$BUILD/asan/bin/legoctl

# ---- make install -------------------------------------------------------------------------
out=$(make -C "$REPO" --no-print-directory BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr install 2>&1)
ok "[ $? = 0 ]" "make install DESTDIR=... PREFIX=/usr"
[ "$TAP_FAILED" = 0 ] || diag "$(tail -n 20 <<<"$out")"
want="etc/lego/controld.conf
etc/lego/mmon.conf
etc/lego/pmon.conf
etc/lego/smon.conf
usr/bin/lego-controld
usr/bin/lego-mmon
usr/bin/lego-pmon
usr/bin/lego-smon
usr/bin/lego-vmm
usr/bin/legoctl
usr/lib/systemd/system/lego-controld.service
usr/lib/systemd/system/lego-mmon.service
usr/lib/systemd/system/lego-pmon.service
usr/lib/systemd/system/lego-smon.service
usr/share/lego/images/lego-guest.elf"
if [ -s "$BUILD/images/linux/vmlinux" ]; then
	want="$want
usr/share/lego/images/linux/bzImage
usr/share/lego/images/linux/initramfs.cpio
usr/share/lego/images/linux/root.ext4
usr/share/lego/images/linux/vmlinux"
fi
is "$(cd "$D" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)" "$(LC_ALL=C sort <<<"$want")" \
	"the installed tree: programs, guest images, units, options files"
diag "installed: $(cd "$D" && find . -type f | LC_ALL=C sort | tr '\n' ' ')"
modes=$(cd "$D" && stat -c '%a %n' usr/bin/* etc/lego/* usr/lib/systemd/system/* | awk '{print $1}' | sort | uniq -c | tr -s ' ')
is "$modes" " 8 644
 6 755" "programs 0755, units and options files 0644"
ok "cmp -s '$BUILD/release/bin/lego-controld' '$D/usr/bin/lego-controld' && cmp -s '$BUILD/images/lego-guest.elf' '$D/usr/share/lego/images/lego-guest.elf'" \
	"the release build and the guest image are what was installed"
units=$(cat "$D"/usr/lib/systemd/system/*.service)
like "$(grep '^ExecStart=' <<<"$units")" "^ExecStart=/usr/bin/lego-controld --socket /run/lego-controld/libvirt-sock" \
	"the units run the programs from PREFIX/bin"
unlike "$units" "@[A-Z]+@" "every @VARIABLE@ of the templates is replaced"
is "$(grep -c '^EnvironmentFile=-/etc/lego/' <<<"$units") $(grep -c '^Type=notify$' <<<"$units")" "4 4" \
	"each unit reads /etc/lego/NAME.conf and is Type=notify"

# ---- systemd-analyze verify -----------------------------------------------------------------
# A root holding the staged programs, units and options files, and what the units need of
# the target system: its units (targets) and /bin/kill (ExecReload). verify resolves
# ExecStart under --root and fails when a command is missing; it only warns (exit 0) on an
# unknown key, so any output fails too.
R=$TAP_TMP/root
mkdir -p "$R/usr" && cp -a "$D/etc" "$R/" && cp -a "$D/usr/bin" "$D/usr/lib" "$R/usr/" &&
	cp -n /usr/lib/systemd/system/* "$R/usr/lib/systemd/system/" 2>/dev/null
cp /bin/kill "$R/usr/bin/kill" && ln -s usr/bin "$R/bin"
for d in controld pmon mmon smon; do
	out=$(systemd-analyze verify --root="$R" "/usr/lib/systemd/system/lego-$d.service" 2>&1)
	rc=$?
	ok '[ $rc = 0 ] && [ -z "$out" ]' "systemd-analyze verify lego-$d.service: no complaint"
	[ -z "$out" ] || diag "$out"
done
# And it does see a command that is not there.
mv "$R/usr/bin/lego-smon" "$R/lego-smon.away"
out=$(systemd-analyze verify --root="$R" /usr/lib/systemd/system/lego-smon.service 2>&1)
like "$out" "lego-smon is not executable" "verify fails on a unit whose program is missing"

# ---- options files against the programs' parsers ---------------------------------------------
# The unit's command line with its options file's words, then --help: exit 0 only if every
# earlier option and value was taken (getopt reads them in order).
cmdline() { # unit -> its ExecStart words with %l and $LEGO_*_OPTS filled in
	local unit=$1 conf=$2 line
	line=$(grep '^ExecStart=' "$unit" | sed "s/^ExecStart=//; s/%l/$(hostname -s | tr -c 'A-Za-z0-9._\n-' _)/")
	(
		. "$conf"
		eval "echo $line"
	)
}
for d in controld pmon mmon smon; do
	words=$(cmdline "$D/usr/lib/systemd/system/lego-$d.service" "$D/etc/lego/$d.conf")
	# shellcheck disable=SC2086
	out=$("$D"${words%% *} ${words#* } --help 2>&1)
	rc=$?
	ok "[ $rc = 0 ]" "lego-$d takes its unit's and options file's options: ${words#/usr/bin/}"
	[ "$rc" = 0 ] || diag "$(head -n 3 <<<"$out")"
done
like "$(cat "$D/etc/lego/controld.conf")" "--metrics 127\.0\.0\.1:" "the default metrics address is loopback"

# A reinstall keeps the operator's options file, the new default beside it.
echo 'LEGO_MMON_OPTS="--pool 8G"' >"$D/etc/lego/mmon.conf"
out=$(make -C "$REPO" --no-print-directory BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr install 2>&1)
is "$(cat "$D/etc/lego/mmon.conf")" 'LEGO_MMON_OPTS="--pool 8G"' "a reinstall keeps an edited options file"
ok "cmp -s '$REPO/dist/etc/mmon.conf' '$D/etc/lego/mmon.conf.new'" "... and puts the new default beside it"

# ---- the journal's format and the readiness protocol ------------------------------------------
# A notify socket as systemd's: each datagram a line (its newlines as '|').
NOTIFY=$CLUSTER_RUN/notify
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    print(s.recv(4096).decode().replace("\n", "|"), flush=True)' "$NOTIFY" >>"$TAP_TMP/notify.txt" &
NOTIFY_PID=$!
wait_for "[ -S '$NOTIFY' ] && echo bound" bound
: >"$TAP_TMP/controld.log"
CONTROLD_BIN=$D/usr/bin/lego-controld NOTIFY_SOCKET=$NOTIFY \
	JOURNAL_STREAM=$(stat -c '%d:%i' "$TAP_TMP/controld.log") controld_start
ok "wait_for 'cat $TAP_TMP/notify.txt' '^READY=1'" "the installed lego-controld tells NOTIFY_SOCKET READY=1 once it serves"
log=$(cat "$TAP_TMP/controld.log")
like "$log" "^<6>libvirt remote protocol on " "its lines to the journal carry the syslog priority (<6> info)"
unlike "$log" "^[^<]|^<[^3467]>|lego-controld\[|^<.>[0-9]{2}:[0-9]{2}" \
	"... every line, without the time, program and pid the journal adds"
kill -TERM "$CONTROLD_PID"
wait "$CONTROLD_PID"
is "$?" 0 "SIGTERM stops it (exit 0)"
like "$(cat "$TAP_TMP/notify.txt")" "STOPPING=1" "... and it says STOPPING=1 first"
# A memory server (lib/fabric/fab_server.c's daemons) likewise; its stderr is a file that is
# not the journal: plain lines.
: >"$TAP_TMP/notify.txt"
MMON=$D/usr/bin/lego-mmon NOTIFY_SOCKET=$NOTIFY JOURNAL_STREAM=1:1 mmon_start mem-n 16M
ok "wait_for 'cat $TAP_TMP/notify.txt' '^READY=1'" "the installed lego-mmon tells READY=1"
like "$(head -n 1 "$TAP_TMP/mem-n.log")" "^[0-9:.]+ lego-mmon\[[0-9]+\] " \
	"a JOURNAL_STREAM that is not its stderr leaves its lines as they are"
kill -HUP "$MMON_PID"
ok "wait_for 'grep -c READY=1 $TAP_TMP/notify.txt' '^2$'" "SIGHUP (systemctl reload): READY=1 again..."
like "$(tr '\n' ' ' <"$TAP_TMP/notify.txt")" "^READY=1.* RELOADING=1 READY=1" "... after RELOADING=1"
kill -TERM "$MMON_PID"
ok "wait_for 'cat $TAP_TMP/notify.txt' 'STOPPING=1'" "SIGTERM: STOPPING=1"
wait "$MMON_PID"

# ---- metrics ------------------------------------------------------------------------------
rm -f "$CLUSTER_RUN/libvirt-sock" "$CLUSTER_RUN/libvirt-sock-ro"
out=$("$BUILD/asan/bin/lego-controld" --socket "$CLUSTER_RUN/x" --metrics nowhere 2>&1)
is "$?" 64 "--metrics needs HOST:PORT (exit 64)"
export STANDIN_KNOBS=$TAP_TMP/knobs
mkdir -p "$STANDIN_KNOBS"
controld_start --metrics 127.0.0.1:0
MPORT=$(grep -o 'metrics: http://127\.0\.0\.1:[0-9]*/metrics' "$TAP_TMP/controld.log" | tail -n 1 | grep -o ':[0-9]*/metrics' | tr -dc 0-9)
like "$MPORT" "^[1-9][0-9]*$" "lego-controld --metrics 127.0.0.1:0 says where it listens"
pmon_start host-a --cores 4 --memory 512M --vmm "$REPO/tests/lib/stand-in-vmm"
cluster_mmon mem-a 256M
ok "wait_alive 2" "a processor host and a memory server registered"
page() { # PATH: the body, "HTTP status: N" on stderr
	python3 -c '
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=30)
    sys.stdout.write(r.read().decode())
    print("HTTP status: %d %s" % (r.status, r.headers["Content-Type"]), file=sys.stderr)
except urllib.error.HTTPError as e:
    print("HTTP status: %d" % e.code, file=sys.stderr)' "$MPORT" "$1"
}
raw() { # BYTES (printf format): the status line the server answers
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 30)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
s.shutdown(socket.SHUT_WR)
print((s.makefile("rb").readline() or b"(closed)").decode().strip())' "$MPORT" "$1"
}
KERNEL=$TAP_TMP/guest.elf
: >"$KERNEL"
for n in web idle; do
	cat >"$TAP_TMP/$n.xml" <<XML
<domain type='lego'><name>$n</name><memory unit='MiB'>128</memory><vcpu>2</vcpu>
  <os><type>hvm</type><kernel>$KERNEL</kernel></os></domain>
XML
	lvirsh define "$TAP_TMP/$n.xml" >/dev/null 2>&1
done
echo 1234 >"$STANDIN_KNOBS/stats-faults"
echo 77 >"$STANDIN_KNOBS/stats-remote_fetches"
echo 9 >"$STANDIN_KNOBS/stats-writebacks"
echo 40960 >"$STANDIN_KNOBS/stats-bytes_out"
like "$(lvirsh start web 2>&1)" "Domain 'web' started" "vNode web started (a stand-in lego-vmm)"
ok "wait_for '$CTL -c $CONTROLD vnode web | head -n 1' 'running, id [0-9]+ on host-a'" "... and its host confirms it"
cluster_mmon mem-b 64M # after web: none of its vRegions there
ok "wait_alive 3" "a second memory server"
ok '"$CTL" -c "$CONTROLD" mmon drain mem-b >/dev/null 2>&1' "a drain of the empty memory server (a pool job) ends"
"$CTL" -c "$CONTROLD" mmon undrain mem-b >/dev/null 2>&1
# A migration whose destination's lego-vmm exits at once (the stand-in's usage knob): failed.
pmon_start host-b --cores 4 --memory 512M --vmm "$REPO/tests/lib/stand-in-vmm"
ok "wait_alive 4" "a second processor host"
echo "bad option for this test" >"$STANDIN_KNOBS/usage"
out=$(timeout 120 virsh -c "$LIBVIRT_URI" migrate --live --p2p web lego+tcp://host-b/system 2>&1)
rm -f "$STANDIN_KNOBS/usage"
like "$out" "error: .*exited" "a migration whose destination's lego-vmm exits fails"
P=$TAP_TMP/page.txt
page /metrics >"$P" 2>"$TAP_TMP/status.txt"
like "$(cat "$TAP_TMP/status.txt")" "^HTTP status: 200 text/plain; version=0\.0\.4" "GET /metrics: 200, the text format 0.0.4"
out=$("$BUILD/tools/promtool" check metrics <"$P" 2>&1)
rc=$?
ok '[ $rc = 0 ] && [ -z "$out" ] && [ "$(grep -c "^# TYPE " "$P")" -gt 40 ]' \
	"promtool check metrics: the page (every family) passes, without a lint remark"
[ -z "$out" ] || diag "$out"
val() { # SERIES (name and labels, exactly as on the page): its value
	awk -v s="$1" 'index($0, s " ") == 1 { print substr($0, length(s) + 2) }' "$P"
}
is "$(val 'lego_component_up{kind="mmon",name="mem-a"}')" 1 "mem-a is up"
is "$(val 'lego_component_capacity_bytes{kind="mmon",name="mem-a"}')" 268435456 "mem-a's capacity: 256 MiB"
is "$(val 'lego_component_capacity_bytes{kind="pmon",name="host-a"}')" 536870912 "host-a's memory for ExCaches: 512 MiB"
is "$(val 'lego_pmon_cores{kind="pmon",name="host-a"}')" 4 "host-a's cores"
is "$(val 'lego_pmon_cores_used{kind="pmon",name="host-a"}')" 2 "... 2 of them used by web's vCPUs"
is "$(val 'lego_mmon_placed_bytes{kind="mmon",name="mem-a"}')" 134217728 "web's 128 MiB placed on mem-a"
is "$(val 'lego_vnodes{state="running"}') $(val 'lego_vnodes{state="shutoff"}') $(val 'lego_vnodes{state="paused"}')" \
	"1 1 0" "vNodes by state: web running, idle shut off, none paused"
like "$(grep '^lego_vnode_info{vnode="web"' "$P")" '^lego_vnode_info\{vnode="web",uuid="[0-9a-f-]{36}",state="running",host="host-a"\} 1$' \
	"web's info: its uuid, state and host"
is "$(val 'lego_vnode_stats_up{vnode="web"}')" 1 "web's lego-vmm answered"
is "$(val 'lego_vnode_faults_total{vnode="web"}')" 1234 "web's faults as its lego-vmm reports them"
is "$(val 'lego_vnode_remote_fetches_total{vnode="web"}')" 77 "web's remote fetches"
is "$(val 'lego_vnode_writebacks_total{vnode="web"}')" 9 "web's write-backs"
is "$(val 'lego_vnode_written_back_bytes_total{vnode="web"}')" 40960 "web's bytes written back"
is "$(val 'lego_vnode_excache_capacity_bytes{vnode="web"}')" 16777216 "web's ExCache: 4096 pages of 4 KiB"
is "$(grep -c '^lego_vnode_faults_total{vnode="idle"' "$P")" 0 "no pager figures for a vNode that does not run"
is "$(val 'lego_pool_job_duration_seconds_count{job="drain",result="done"}')" 1 "the drain: one pool job done..."
like "$(val 'lego_pool_job_duration_seconds_sum{job="drain",result="done"}')" '^[0-9.e-]+$' "... with its duration"
is "$(val 'lego_migration_duration_seconds_count{outcome="failed"}') $(val 'lego_migration_duration_seconds_count{outcome="moved"}')" \
	"1 0" "the migration: one failed, none moved"
like "$(val 'lego_migration_duration_seconds_sum{outcome="failed"}')" '^[0-9.e-]+$' "... with its duration"
# The HTTP side.
page / >/dev/null 2>"$TAP_TMP/status.txt"
like "$(cat "$TAP_TMP/status.txt")" "^HTTP status: 200" "GET /: 200 (a pointer to /metrics)"
page /nope >/dev/null 2>"$TAP_TMP/status.txt"
like "$(cat "$TAP_TMP/status.txt")" "^HTTP status: 404" "another path: 404"
is "$(raw 'HEAD /metrics HTTP/1.0\r\n\r\n')" "HTTP/1.1 200 OK" "HEAD /metrics: 200"
is "$(raw 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n')" "HTTP/1.1 405 Method Not Allowed" "POST: 405"
is "$(raw 'hello\r\n\r\n')" "HTTP/1.1 400 Bad Request" "not HTTP: 400"
is "$(raw "GET /metrics HTTP/1.1\\r\\nX: $(head -c 9000 /dev/zero | tr '\0' a)\\r\\n\\r\\n")" \
	"HTTP/1.1 431 Request Header Fields Too Large" "a request over 8 KiB: 431"
page /metrics >/dev/null 2>"$TAP_TMP/status.txt"
like "$(cat "$TAP_TMP/status.txt")" "^HTTP status: 200" "the page is still served after them"
lvirsh destroy web >/dev/null 2>&1
tap_keep_logs install
done_testing
