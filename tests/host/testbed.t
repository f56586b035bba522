#!/usr/bin/env bash
# testbed.t: the nested KVM test bed works: exit status, arguments, shared files, environment, nested /dev/kvm, a raw-KVM program.
#
# Two L1 boots: one from the host side (exit status, arguments, output, files both ways), then
# this script re-runs itself in L1 through kvm_require (LEGO_TESTBED=always) for the rest.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
RUN=$REPO/tests/testbed/run-in-l1
SMOKE=$BUILD/testbed/kvm-smoke
PLAN=15

if ! kvm_nested; then
	if [ "${LEGO_TESTBED:-auto}" = never ]; then
		echo "1..0 # SKIP LEGO_TESTBED=never"
		exit 0
	fi
	plan $PLAN
	mkdir -p "$BUILD/testbed"

	# 1-2. kvm-smoke is built here, with the host's gcc.
	out=$(gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$SMOKE" "$REPO/tests/testbed/kvm-smoke.c" 2>&1)
	is "$?" 0 "kvm-smoke builds with gcc"
	[ -z "$out" ] || diag "$out"
	out=$("$RUN" --bogus 2>&1)
	is "$?" 64 "run-in-l1 refuses an unknown option with status 64"

	# 3-7. One boot from the host side: arguments with spaces and quotes arrive intact, the
	# command sees the host's file and writes one the host then sees, its output comes back
	# verbatim (no CR, no kernel messages), and its exit status is run-in-l1's.
	tap_tmpdir
	shared=$(mktemp -d "$BUILD/testbed/testbed-t.XXXXXX")
	trap 'rm -rf "$TAP_TMP" "$shared"' EXIT
	echo "written on the host $$" >"$shared/from-host"
	arg="two  spaces, \"double\" and 'single' quotes, \$dollar \\ backslash"
	out=$("$RUN" -- bash -c 'printf "<%s>\n" "$1"; cat "$2/from-host"; echo "written in L1" >"$2/from-l1"; exit 7' \
		argv0 "$arg" "$shared" 2>"$TAP_TMP/stderr")
	rc=$?
	is "$rc" 7 "run-in-l1 -- sh -c 'exit 7' exits with 7"
	is "$(printf '%s' "$out" | head -n 1)" "<$arg>" "an argument with spaces and quotes arrives intact"
	is "$(printf '%s' "$out" | sed -n 2p)" "written on the host $$" "L1 reads a file the host wrote"
	is "$(cat "$shared/from-l1" 2>/dev/null)" "written in L1" "the host reads a file L1 wrote"
	lines=$(printf '%s\n' "$out" | wc -l)
	crs=$(printf '%s' "$out" | tr -cd '\r' | wc -c)
	is "$lines lines, $crs CRs" "2 lines, 0 CRs" "the command's output is exactly its own (no CR, no kernel messages)"
	[ -s "$TAP_TMP/stderr" ] && diag "run-in-l1 stderr:" "$(cat "$TAP_TMP/stderr")"
	rm -rf "$shared" "$TAP_TMP"
	trap - EXIT

	# The rest runs in L1: this script again, through kvm_require.
	export LEGO_TESTBED_T_DONE=$TAP_N LEGO_TESTBED_T_FAILED=$TAP_FAILED
	export LEGO_TESTBED_T_VALUE="a value with  spaces, 'quotes' and \"more\""
	LEGO_TESTBED=always kvm_require "$0" "$@"
	echo "Bail out! kvm_require returned on the host with LEGO_TESTBED=always"
	exit 255
fi

# ---- inside L1 --------------------------------------------------------------------------
TAP_N=${LEGO_TESTBED_T_DONE:-0}
TAP_FAILED=${LEGO_TESTBED_T_FAILED:-0}
ok "[ -c /dev/kvm ]" "/dev/kvm is a character device in L1"
ok "kvm_usable" "kvm_usable: /dev/kvm opens read-write"
ok "kvm_nested && [ \"\$(kvm_env)\" = nested-tcg ]" "kvm_nested is true and kvm_env says nested-tcg"
is "$(cat /sys/module/kvm_amd/parameters/nested 2>&1)" 1 "kvm_amd nested=1"
is "$(cat /sys/module/kvm_amd/parameters/npt 2>&1)" Y "kvm_amd npt=Y (nested paging)"
is "${LEGO_TESTBED_T_VALUE:-}" "a value with  spaces, 'quotes' and \"more\"" \
	"a LEGO_ variable with spaces and quotes arrives intact"
lo_flags=$(cat /sys/class/net/lo/flags 2>/dev/null || echo 0)
is "$((lo_flags & 1))" 1 "loopback is up in L1 (IFF_UP)"
out=$(timeout 120 "$SMOKE" 5000 2>&1)
rc=$?
is "$rc" 0 "kvm-smoke: a raw KVM vCPU runs real-mode code, 5000 out exits then hlt"
[ -n "$out" ] && diag "$out"
[ "$TAP_N" -eq "$PLAN" ] || diag "ran $TAP_N tests, planned $PLAN"
done_testing
