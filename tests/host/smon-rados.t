#!/usr/bin/env bash
# smon-rados.t: lego-smon (ASan+UBSan) on a Ceph RADOS pool of a throw-away cluster: every
# volume operation and bad request (smon_probe) with 4 MiB and 64 KiB objects (requests
# that cross objects split), legoctl, the object layout in RADOS, data kept across a kill -9
# and restart of lego-smon, and a cluster that is not there.
. "$(dirname "$0")/../lib/tap.sh"
SMON=$BUILD/asan/bin/lego-smon
PROBE=$BUILD/asan/bin/smon_probe
CTL=$BUILD/asan/bin/legoctl
IO=$BUILD/asan/bin/smon_io
tap_tmpdir
plan 18

. "$REPO/tests/lib/servers.sh"
CEPH_DIR=$TAP_TMP/ceph
cleanup() {
	server_kill_all
	"$REPO/tests/lib/ceph-cluster" stop "$CEPH_DIR" >/dev/null 2>&1
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

conf=$("$REPO/tests/lib/ceph-cluster" start "$CEPH_DIR" 2>"$TAP_TMP/ceph-start.log")
rc=$?
is "$rc" 0 "a throw-away Ceph cluster started"
[ "$rc" = 0 ] || diag "$(tail -n 5 "$TAP_TMP/ceph-start.log")"

probe() { # name: smon_probe against $port, checked
	local out rc planned passed
	out=$("$PROBE" 127.0.0.1 "$port" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$TAP_TMP/probe-$1.log"
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out")
	passed=$(grep -c '^ok ' <<<"$out")
	ok "[ $rc = 0 ] && [ '$passed' = '${planned:-missing}' ]" \
		"smon_probe, $1: $passed of ${planned:-?} checks passed"
	grep '^not ok' <<<"$out" | while read -r l; do diag "$l"; done
}

smon_start rados4m --rados lego --ceph-conf "$conf"
port=$SMON_PORT
spid=$SMON_PID
ok "[ -n '$port' ]" "lego-smon serves the pool 'lego' (port $port)"
probe "4 MiB objects"
kill -TERM "$spid"
wait "$spid"
is "$?" 0 "SIGTERM: clean exit 0"

smon_start rados64k --rados lego --ceph-conf "$conf" --object-size 64K
port=$SMON_PORT
spid=$SMON_PID
probe "64 KiB objects (a 1 MiB request spans 17)"
ctl() { "$CTL" --smon "127.0.0.1:$port" "$@"; }
is "$(ctl volume create vm1 8M)" "created vm1: 8388608 bytes" "legoctl volume create"
is "$(ctl --json volume stat vm1)" '{"name":"vm1","size":8388608,"backend":"rados","object_size":65536}' \
	"legoctl --json volume stat: RADOS, 64 KiB objects"
like "$(ctl --json volume list)" '"backend":"rados","volumes":\[.*\{"name":"vm1","size":8388608\}' \
	"legoctl --json volume list"
ok "rados -c '$conf' -p lego listomapkeys lego.directory | grep -qx vm1" \
	"the volume is in the directory object's omap"

head -c 1048576 /dev/urandom >"$TAP_TMP/data"
"$IO" "127.0.0.1:$port" vm1 write 3M <"$TAP_TMP/data"
is "$?" 0 "smon_io writes 1 MiB at 3 MiB and flushes"
objs=$(rados -c "$conf" -p lego ls | grep -c '^lego\.vm1\.')
is "$objs" 16 "the data is in 16 objects of 64 KiB"
ok "rados -c '$conf' -p lego stat lego.vm1.0000000000000030 >/dev/null 2>&1" \
	"object names carry the object index (48 = 3 MiB / 64 KiB)"
kill -9 "$spid"
wait "$spid" 2>/dev/null
SERVER_LISTEN=127.0.0.1:$port smon_start rados64k --rados lego --ceph-conf "$conf"
spid=$SMON_PID
"$IO" "127.0.0.1:$port" vm1 read 3M 1M >"$TAP_TMP/back"
ok "cmp -s '$TAP_TMP/data' '$TAP_TMP/back'" "after kill -9 and restart of lego-smon the data is there"
is "$(ctl volume delete vm1)" "deleted vm1" "legoctl volume delete"
objs=$(rados -c "$conf" -p lego ls | grep -c '^lego\.vm1\.')
is "$objs" 0 "deleting the volume removed its objects"
kill -TERM "$spid"
wait "$spid"
is "$?" 0 "SIGTERM: clean exit 0"
unlike "$(cat "$TAP_TMP"/rados*.log)" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" \
	"no sanitizer report"

# No such pool: a clear error at start-up.
out=$("$SMON" --rados nosuchpool --ceph-conf "$conf" --listen 127.0.0.1:0 --rados-timeout 5 2>&1)
rc=$?
ok "[ $rc = 1 ] && grep -q \"cannot open pool 'nosuchpool': no such pool\" <<<\"\$out\"" \
	"a pool that does not exist: exit 1 and why"
