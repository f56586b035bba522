# shellcheck shell=bash
# mmon.sh: lego-mmon servers for tests, on loopback ports they pick themselves.
#   mmon_start NAME POOL [ARGS...]  start one (log in $TAP_TMP/NAME.log); sets MMON_PORT
#                                   and MMON_PID (MMON_PORT empty if it did not come up)
#   mmon_kill_all                   kill -9 every server started (for EXIT traps)
# Uses $MMON (default: the ASan+UBSan build) and $TAP_TMP (tap_tmpdir).
MMON_PIDS=()

mmon_start() {
	local name=$1 pool=$2
	shift 2
	rm -f "$TAP_TMP/$name.port"
	"${MMON:-$BUILD/asan/bin/lego-mmon}" --listen 127.0.0.1:0 --port-file "$TAP_TMP/$name.port" \
		--name "$name" --pool "$pool" "$@" 2>"$TAP_TMP/$name.log" &
	MMON_PID=$!
	MMON_PIDS+=("$MMON_PID")
	for _ in $(seq 100); do
		[ -s "$TAP_TMP/$name.port" ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2034 # for the caller
	MMON_PORT=$(cat "$TAP_TMP/$name.port" 2>/dev/null)
}

mmon_kill_all() {
	local p
	for p in "${MMON_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	MMON_PIDS=()
}
