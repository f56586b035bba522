#!/usr/bin/env bash
# smon.t: lego-smon (ASan+UBSan) with the file backend on loopback: every volume operation
# and bad request over the real transport (smon_probe), legoctl's volume commands, data
# kept across a kill -9 and restart, and the command line.
. "$(dirname "$0")/../lib/tap.sh"
SMON=$BUILD/asan/bin/lego-smon
PROBE=$BUILD/asan/bin/smon_probe
CTL=$BUILD/asan/bin/legoctl
tap_tmpdir
plan 47

. "$REPO/tests/lib/servers.sh"
trap 'server_kill_all; rm -rf "$TAP_TMP"' EXIT
vols=$TAP_TMP/vols
smon_start probe-me --dir "$vols"
spid=$SMON_PID
port=$SMON_PORT
ok "[ -n '$port' ]" "lego-smon listens on a port it picked ($port)"

out=$("$PROBE" 127.0.0.1 "$port" 2>&1)
rc=$?
printf '%s\n' "$out" >"$TAP_TMP/probe.log"
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out")
passed=$(grep -c '^ok ' <<<"$out")
is "$rc" 0 "smon_probe: volume operations and bad requests answered as specified"
is "$passed" "${planned:-missing}" "smon_probe: $passed of ${planned:-?} checks passed"
grep '^not ok' <<<"$out" | while read -r l; do diag "$l"; done
ok "kill -0 $spid" "lego-smon is still running after the bad requests"
log=$(cat "$TAP_TMP/probe-me.log")
like "$log" "warn: .*CREATE request [0-9]* refused: invalid argument: volume name is not NUL-padded" "a bad name is logged with its reason"
like "$log" "refused: no such volume: volume 'nosuch'" "an unknown volume is logged"

ctl() { "$CTL" --smon "127.0.0.1:$port" "$@"; }
is "$(ctl volume create disk1 64M)" "created disk1: 67108864 bytes" "legoctl volume create"
is "$(stat -c %s "$vols/disk1")/$(du -k "$vols/disk1" | cut -f1)" "67108864/0" \
	"the volume is a sparse file of 64 MiB"
err=$(ctl volume create disk1 64M 2>&1)
is "$?/$err" "1/legoctl: create 'disk1': volume 'disk1': a volume of that name exists" \
	"creating it again: exit 1 and why"
ctl volume create other 1G >/dev/null
is "$(ctl --json volume list)" \
	'{"server":"probe-me","backend":"file","volumes":[{"name":"disk1","size":67108864},{"name":"other","size":1073741824}]}' \
	"legoctl --json volume list"
like "$(ctl volume list)" "^disk1 +67108864"$'\n'"other +1073741824$" "legoctl volume list"
is "$(ctl volume resize disk1 128M)" "resized disk1: 134217728 bytes" "legoctl volume resize"
is "$(ctl --json volume stat disk1)" '{"name":"disk1","size":134217728,"backend":"file","object_size":0}' \
	"legoctl --json volume stat"
is "$(ctl volume delete other)" "deleted other" "legoctl volume delete"
ctl volume stat other 2>/dev/null
is "$?" 1 "stat of a deleted volume: exit 1"
ctl volume create ../etc 1M 2>/dev/null
is "$?" 64 "a bad volume name: exit 64 before any request"
ctl volume create x 1000 2>/dev/null
is "$?" 64 "a size that is not whole sectors: exit 64"
"$CTL" --smon 127.0.0.1:1 volume list 2>/dev/null
is "$?" 2 "an unreachable server: exit 2"
like "$("$CTL" --help)" "volume create NAME SIZE" "legoctl --help"

# Every command and subcommand answers --help and -h with its own usage (exit 0, nothing on
# stderr), asking no server: both addresses are unreachable.
help_ok() { # WORDS...
	local flag out first rc
	for flag in --help -h; do
		out=$("$CTL" -c 127.0.0.1:1 --smon 127.0.0.1:1 "$@" "$flag" 2>"$TAP_TMP/help.err")
		rc=$?
		first=$(head -n 1 <<<"$out")
		if [ "$rc" != 0 ] || [ -s "$TAP_TMP/help.err" ] ||
			! [[ "$first" == "Usage: legoctl [options] $*" ||
				"$first" == "Usage: legoctl [options] $* "* ]] ||
			[ "$(wc -l <<<"$out")" -lt 2 ]; then
			diag "legoctl $* $flag: exit $rc, first line '$first'" "$(cat "$TAP_TMP/help.err")"
			return 1
		fi
	done
}
for cmd in components vnodes vnode migrate pool "pool rebalance" mmon "mmon drain" \
	"mmon undrain" volume "volume create" "volume list" "volume stat" "volume resize" \
	"volume delete"; do
	ok "help_ok $cmd" "legoctl $cmd --help (and -h): its own usage, exit 0"
done
lists() { # TEXT USAGE...: every usage starts a line of TEXT's list of commands
	local text=$1 u
	shift
	for u in "$@"; do
		grep -Eq "^  $u +[a-z]" <<<"$text" || { diag "'$u' is not listed"; return 1; }
	done
}
ok "lists \"\$(\"\$CTL\" mmon --help)\" 'mmon drain NAME' 'mmon undrain NAME'" \
	"legoctl mmon --help lists its subcommands"
ok "lists \"\$(\"\$CTL\" --help)\" components vnodes 'vnode NAME' 'migrate NAME HOST' pool \
	'pool rebalance' 'mmon drain NAME' 'mmon undrain NAME' 'volume create NAME SIZE' \
	'volume list' 'volume stat NAME' 'volume resize NAME SIZE' 'volume delete NAME'" \
	"legoctl --help lists every command with its usage"

# Data written and flushed survives a kill -9 and a restart on the same port.
head -c 1048576 /dev/urandom >"$TAP_TMP/data"
"$BUILD/asan/bin/smon_io" "127.0.0.1:$port" disk1 write 4194304 <"$TAP_TMP/data"
is "$?" 0 "smon_io writes 1 MiB at 4 MiB and flushes"
kill -9 "$spid"
wait "$spid" 2>/dev/null
SERVER_LISTEN=127.0.0.1:$port smon_start probe-me --dir "$vols"
spid=$SMON_PID
is "$SMON_PORT" "$port" "restarted on the same port"
"$BUILD/asan/bin/smon_io" "127.0.0.1:$port" disk1 read 4194304 1048576 >"$TAP_TMP/back"
ok "cmp -s '$TAP_TMP/data' '$TAP_TMP/back'" "after kill -9 and restart the data is there"

kill -TERM "$spid"
wait "$spid"
is "$?" 0 "SIGTERM: clean exit 0"
log=$(cat "$TAP_TMP/probe-me.log")
like "$log" "probe-me: shutting down after" "shutdown is logged with counts"
unlike "$log" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report"

like "$("$SMON" --help)" "--rados POOL" "--help describes the options"
"$SMON" 2>/dev/null
is "$?" 64 "no backend: exit 64"
"$SMON" --dir "$vols" --rados p 2>/dev/null
is "$?" 64 "two backends: exit 64"
"$SMON" --dir "$vols" --object-size 3M 2>/dev/null
is "$?" 64 "an object size that is not a power of 2: exit 64"
out=$("$SMON" --pki "$CAP_PKI" --rados nopool --ceph-conf "$TAP_TMP/none.conf" --listen 127.0.0.1:0 2>&1)
rc=$?
ok "[ $rc = 1 ] && grep -q \"cannot read Ceph configuration\" <<<\"\$out\"" \
	"a missing Ceph configuration: exit 1 and why"
