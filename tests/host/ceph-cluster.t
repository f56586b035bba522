#!/usr/bin/env bash
# ceph-cluster.t: tests/lib/ceph-cluster starts a throw-away Ceph cluster that librados
# clients can use, stops it without leaving daemons behind, and fails cleanly.
. "$(dirname "$0")/../lib/tap.sh"
CC=$REPO/tests/lib/ceph-cluster
tap_tmpdir
C=$TAP_TMP/c
T=$TAP_TMP/t
S=$TAP_TMP/s
trap '"$CC" stop "$C" 2>/dev/null; "$CC" stop "$T" 2>/dev/null; "$CC" stop "$S" 2>/dev/null
	rm -rf "$TAP_TMP"' EXIT
if ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
	echo "1..0 # SKIP ceph-mon/ceph-osd not installed"
	exit 0
fi
plan 26

# daemons DIR: the ceph-mon/ceph-osd processes whose command line names DIR.
daemons() { pgrep -af -- "ceph-(mon|osd) .*$1/"; }

t0=$SECONDS
out=$("$CC" start "$C" --pool a --pool b 2>"$TAP_TMP/start.err")
rc=$?
is "$rc" 0 "start: exit 0 (in $((SECONDS - t0))s)"
[ "$rc" -eq 0 ] || diag "$(tail -n 20 "$TAP_TMP/start.err")"
is "$out" "$C/ceph.conf" "start prints only the conf path on stdout"
like "$(cat "$TAP_TMP/start.err")" "^ceph-cluster: " "progress goes to stderr, prefixed"
ok "'$CC' status '$C'" "status: exit 0 while both daemons run"
ok "[ -s '$C/run/mon.a.pid' ] && [ -s '$C/run/osd.0.pid' ] && [ -d '$C/log' ]" \
	"pid files and logs live under DIR"

head -c 100000 /dev/urandom >"$TAP_TMP/obj"
rados -c "$C/ceph.conf" -p a put obj1 "$TAP_TMP/obj"
is "$?" 0 "rados put into pool a"
rados -c "$C/ceph.conf" -p a get obj1 "$TAP_TMP/obj.back"
is "$?" 0 "rados get from pool a"
ok "cmp -s '$TAP_TMP/obj' '$TAP_TMP/obj.back'" "the bytes read back are the bytes written"
pools=$(timeout 60 ceph -c "$C/ceph.conf" osd pool ls 2>/dev/null | sort | tr '\n' ' ')
is "$pools" "a b " "--pool a --pool b: exactly pools a and b exist"
ok "echo hi | rados -c '$C/ceph.conf' -p b put obj2 - && \
	[ \"\$(rados -c '$C/ceph.conf' -p b get obj2 -)\" = hi ]" "pool b takes writes too"
is "$(rados -c "$C/ceph.conf" -p a ls)" "obj1" "the start probe object was removed"

out=$("$CC" start "$C" 2>&1)
rc=$?
ok "[ $rc -ne 0 ]" "start into a non-empty DIR fails (exit $rc)"
like "$out" "ceph-cluster: error: .*is not an empty directory" "... with a clear message"
ok "'$CC' status '$C'" "... and leaves the running cluster alone"

t0=$SECONDS
"$CC" stop "$C" 2>/dev/null
is "$?" 0 "stop: exit 0 (in $((SECONDS - t0))s)"
ok "[ ! -e '$C' ]" "stop removes DIR"
is "$(daemons "$C")" "" "no ceph-mon/ceph-osd with DIR in its command line remains"
"$CC" status "$C"
is "$?" 1 "status after stop: exit 1"
"$CC" stop "$C"
is "$?" 0 "stop again: exit 0 (idempotent)"

# A timeout (a 1-byte OSD is full: the probe write waits): everything stopped, logs kept.
out=$(CEPH_CLUSTER_TIMEOUT=5 "$CC" start "$T" --bytes 1 2>&1)
rc=$?
ok "[ $rc -ne 0 ]" "CEPH_CLUSTER_TIMEOUT=5 and a full OSD: start fails (exit $rc)"
like "$out" "error: timed out after 5s" "... saying it timed out"
ok "[ -s '$T/log/mon.a.log' ] && [ -z \"\$(daemons '$T')\" ]" "... keeps the logs, leaves no daemon"

# SIGTERM during start, once both daemons run (a full OSD again: start cannot finish).
"$CC" start "$S" --bytes 1 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1200); do
	[ -s "$S/run/osd.0.pid" ] && break
	sleep 0.1
done
ok "[ -n \"\$(daemons '$S')\" ]" "SIGTERM during start: the daemons run before"
kill -TERM $pid
wait $pid
rc=$?
is "$rc" 143 "... start exits 143"
is "$(daemons "$S")" "" "... and leaves no daemon behind"

like "$("$CC" --help)" "start DIR \[--pool NAME\]" "--help prints usage"
done_testing
