# shellcheck shell=bash
# servers.sh: lego-mmon and lego-smon servers for tests, on loopback ports they pick.
#   mmon_start NAME POOL [ARGS...]   a memory server; sets MMON_PORT and MMON_PID
#   smon_start NAME [ARGS...]        a storage server (give --dir DIR or --rados POOL);
#                                    sets SMON_PORT and SMON_PID
#   server_kill_all                  kill -9 every server started (for EXIT traps)
# Logs go to $TAP_TMP/NAME.log; a port is empty if the server did not come up. Uses $MMON
# and $SMON (default: the ASan+UBSan builds) and $TAP_TMP (tap_tmpdir). The servers require
# capabilities signed with the test's throw-away key (pki.sh: CAP_KEY, VMM_CAPS for
# lego-vmm, LEGO_CAPABILITY_KEY for the tools); SERVER_CAPS=(...) replaces their --pki.
# shellcheck disable=SC2034 # MMON_*/SMON_* are for the caller
SERVER_PIDS=()
. "$(dirname "${BASH_SOURCE[0]}")/pki.sh"
[ -n "${TAP_TMP:-}" ] && pki_init

# server_start BIN NAME ARGS...: sets SERVER_PORT and SERVER_PID.
server_start() {
	local bin=$1 name=$2
	shift 2
	rm -f "$TAP_TMP/$name.port"
	"$bin" --listen "${SERVER_LISTEN:-127.0.0.1:0}" --port-file "$TAP_TMP/$name.port" \
		--name "$name" "$@" 2>>"$TAP_TMP/$name.log" &
	SERVER_PID=$!
	SERVER_PIDS+=("$SERVER_PID")
	for _ in $(seq 300); do
		[ -s "$TAP_TMP/$name.port" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	SERVER_PORT=$(cat "$TAP_TMP/$name.port" 2>/dev/null)
}

# The servers' capability options into CAPS_ARGS: --pki with the test's key pair, unless
# the caller set SERVER_CAPS (e.g. SERVER_CAPS=(--insecure-no-capabilities)).
server_caps() {
	if [ -n "${SERVER_CAPS+set}" ]; then
		CAPS_ARGS=("${SERVER_CAPS[@]}")
	else
		[ -n "${CAP_PKI:-}" ] || pki_init
		CAPS_ARGS=(--pki "$CAP_PKI")
	fi
}

mmon_start() {
	local name=$1 pool=$2
	shift 2
	server_caps
	server_start "${MMON:-$BUILD/asan/bin/lego-mmon}" "$name" --pool "$pool" \
		"${CAPS_ARGS[@]}" "$@"
	MMON_PORT=$SERVER_PORT
	MMON_PID=$SERVER_PID
}

smon_start() {
	local name=$1
	shift
	server_caps
	server_start "${SMON:-$BUILD/asan/bin/lego-smon}" "$name" "${CAPS_ARGS[@]}" "$@"
	SMON_PORT=$SERVER_PORT
	SMON_PID=$SERVER_PID
}

server_kill_all() {
	local p
	for p in "${SERVER_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	SERVER_PIDS=()
}
