# shellcheck shell=bash
# cluster.sh: a local lego cluster on loopback for tests, the demo and benchmarks: one
# lego-controld, lego-pmon processor hosts, lego-mmon memory servers and lego-smon storage
# servers, each joining through the controller's cluster port, all with mutual TLS under a
# throw-away PKI (pki.sh: every component gets its certificate as it starts). Needs
# servers.sh and $TAP_TMP (logs go to $TAP_TMP/NAME.log).
#   controld_start [ARGS...]       start (or restart, on the same port and state) the
#                                  controller; sets CONTROLD_PID, CONTROLD_PORT, CONTROLD
#                                  (HOST:PORT), LIBVIRT_SOCK, LIBVIRT_URI
#   pmon_start NAME [ARGS...]      a processor host; sets PMON_PID
#   cluster_mmon NAME POOL [ARGS]  a memory server that joins
#   cluster_smon NAME DIR [ARGS]   a storage server (file backend) that joins
#   wait_alive N                   until N components are up (0, or 1 after 30 s)
#   lvirsh ARGS...                 the real virsh against the controller (its UNIX socket;
#                                  LIBVIRT_RO_URI: the read-only one)
# Binaries: $CONTROLD_BIN, $PMON_BIN (default: the ASan+UBSan builds), as servers.sh.
# lego-controld signs capabilities with the test's key (pki.sh), which the servers trust.
# shellcheck disable=SC2034 # variables are for the caller
. "$(dirname "${BASH_SOURCE[0]}")/pki.sh"
CONTROLD_PORT=${CONTROLD_PORT:-}
# /dev/shm: the test bed's /tmp may be a 9p share of the host's, which cannot hold sockets.
CLUSTER_RUN=${CLUSTER_RUN:-$(mktemp -d /dev/shm/lego-cluster.XXXXXX 2>/dev/null || mktemp -d)}

cluster_cleanup() {
	server_kill_all
	rm -rf "$CLUSTER_RUN"
	pki_cleanup
}

controld_start() {
	local bin=${CONTROLD_BIN:-$BUILD/asan/bin/lego-controld}
	LIBVIRT_SOCK=$CLUSTER_RUN/libvirt-sock
	LIBVIRT_URI="lego+unix:///system?socket=$LIBVIRT_SOCK"
	LIBVIRT_RO_URI="lego+unix:///system?socket=$LIBVIRT_SOCK-ro"
	pki_issue controld controld || return 1
	rm -f "$TAP_TMP/controld.port" "$LIBVIRT_SOCK"
	[ -n "${CAP_KEY:-}" ] || pki_init
	"$bin" --socket "$LIBVIRT_SOCK" --listen "127.0.0.1:${CONTROLD_PORT:-0}" \
		--port-file "$TAP_TMP/controld.port" --state-dir "$TAP_TMP/controld-state" \
		--capability-key "$CAP_KEY" "$@" 2>>"$TAP_TMP/controld.log" &
	CONTROLD_PID=$!
	SERVER_PIDS+=("$CONTROLD_PID")
	for _ in $(seq 300); do
		[ -s "$TAP_TMP/controld.port" ] && [ -S "$LIBVIRT_SOCK" ] && break
		kill -0 "$CONTROLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	CONTROLD_PORT=$(cat "$TAP_TMP/controld.port" 2>/dev/null)
	CONTROLD=127.0.0.1:$CONTROLD_PORT
}

pmon_start() {
	local name=$1
	shift
	pki_issue pmon "$name" || return 1
	server_start "${PMON_BIN:-$BUILD/asan/bin/lego-pmon}" "$name" --controld "$CONTROLD" \
		--run-dir "$CLUSTER_RUN/pmon-$name" "$@"
	PMON_PID=$SERVER_PID
}

cluster_mmon() {
	local name=$1 pool=$2
	shift 2
	pki_issue mmon "$name" || return 1
	mmon_start "$name" "$pool" --controld "$CONTROLD" "$@"
}

cluster_smon() {
	local name=$1 dir=$2
	shift 2
	pki_issue smon "$name" || return 1
	smon_start "$name" --dir "$dir" --controld "$CONTROLD" "$@"
}

wait_alive() {
	local ctl=${LEGOCTL_BIN:-$BUILD/asan/bin/legoctl} n
	for _ in $(seq 300); do
		n=$("$ctl" -c "$CONTROLD" --json components 2>/dev/null | grep -o '"alive": true' | wc -l)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

lvirsh() {
	virsh -c "$LIBVIRT_URI" "$@"
}
