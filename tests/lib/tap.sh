# tap.sh: a tiny TAP producer for the project's shell tests (sourced, bash).
# Use: plan N | ok COND NAME | is GOT WANT NAME | like TEXT REGEX NAME | done_testing
TAP_N=0
TAP_FAILED=0
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
export BUILD REPO

plan() { echo "1..$1"; }

diag() { printf '# %s\n' "$@" | sed '2,$s/^/# /'; }

_tap_result() { # status name
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# ok "command..." name: passes when the command succeeds.
ok() {
	local name=$2
	if eval "$1"; then _tap_result 0 "$name"; else _tap_result 1 "$name"; fi
}

is() {
	if [ "$1" = "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "got:      '$1'" "expected: '$2'"
	fi
}

like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "text does not match /$2/:" "$(printf '%s' "$1" | tail -n 20)"
	fi
}

unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_result 1 "$3"
		diag "text matches /$2/ but must not:" "$(printf '%s' "$1" | grep -E -- "$2" | head -5)"
	else
		_tap_result 0 "$3"
	fi
}

done_testing() {
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}

# A scratch directory removed at exit.
# tap_sockdir: sets TAP_SOCK to a new directory that can hold UNIX sockets, removed with
# TAP_TMP's trap if the caller adds it: /dev/shm (tmpfs), since /tmp may be the test bed's
# 9p share of the host's /tmp (when the repository itself is under /tmp), where sockets
# cannot be created.
# Until COMMAND's output matches REGEX (SECONDS, default 30, polled every 0.1 s): 0, else 1
# with the last output as a diagnostic.
wait_for() {
	local out
	for _ in $(seq $((${3:-30} * 10))); do
		out=$(eval "$1" 2>&1)
		grep -Eq -- "$2" <<<"$out" && return 0
		sleep 0.1
	done
	diag "waited for /$2/ in: $(tail -n 5 <<<"$out")"
	return 1
}

tap_sockdir() {
	TAP_SOCK=$(mktemp -d /dev/shm/lego-sock.XXXXXX 2>/dev/null || mktemp -d "${TMPDIR:-/tmp}/lego-sock.XXXXXX")
}

# tap_keep_logs NAME: after a failure, copy $TAP_TMP's logs and consoles to
# $BUILD/test-logs/NAME (from an EXIT trap, before $TAP_TMP goes), so they can be read.
tap_keep_logs() {
	[ "$TAP_FAILED" -gt 0 ] && [ -d "${TAP_TMP:-}" ] || return 0
	rm -rf "$BUILD/test-logs/$1"
	mkdir -p "$BUILD/test-logs/$1"
	find "$TAP_TMP" -maxdepth 1 -type f \( -name '*.log' -o -name '*.txt' \) \
		-exec cp {} "$BUILD/test-logs/$1/" \; 2>/dev/null
	echo "# logs kept in $BUILD/test-logs/$1"
}

tap_tmpdir() {
	TAP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lego-test.XXXXXX")
	trap 'rm -rf "$TAP_TMP"' EXIT
}
