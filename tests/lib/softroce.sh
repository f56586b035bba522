# shellcheck shell=bash
# softroce.sh: a Soft-RoCE (rdma_rxe) device inside the test bed, for tests of the verbs provider.
#
#   export LEGO_TESTBED_WITH=${LEGO_TESTBED_WITH:-rdma}   # before kvm_require: L1 loads the
#                                                         # rdma module set (prepare.sh)
#   . tests/lib/softroce.sh
#   softroce_up || bail     # dummy netdev rdma0 with $SOFTROCE_ADDR, rxe device rxe0 on it,
#                           # ACTIVE; sets SOFTROCE_DEV; an error in SOFTROCE_ERR
#   softroce_down           # removes both (for EXIT traps; L1 goes away anyway)
#
# The servers then listen on $SOFTROCE_ADDR (SERVER_LISTEN=$SOFTROCE_ADDR:0, servers.sh) and
# every lego program runs with LEGO_FABRIC_PROVIDER=verbs. Needs root, the rdma tool
# (iproute2) and ibverbs-providers (the rxe user-space driver): scripts/debian-packages.txt.
# The facts behind the sequence: /work/shared/RDMA_TEST.md (crc32_generic before rdma_rxe is
# in the module set's order; the address goes on the netdev before the rxe device).
# shellcheck disable=SC2034 # SOFTROCE_* are for the caller

SOFTROCE_ADDR=${SOFTROCE_ADDR:-10.99.0.1}
SOFTROCE_NETDEV=${SOFTROCE_NETDEV:-rdma0}
SOFTROCE_DEV=rxe0
SOFTROCE_ERR=

softroce_fail() {
	SOFTROCE_ERR=$*
	return 1
}

softroce_up() {
	local state=
	[ "$(id -u)" = 0 ] || softroce_fail "Soft-RoCE needs root" || return 1
	command -v rdma >/dev/null || softroce_fail "no rdma tool (iproute2)" || return 1
	[ -d /sys/module/rdma_rxe ] ||
		softroce_fail "rdma_rxe is not loaded (run in the test bed with --with rdma, or LEGO_TESTBED_WITH=rdma)" ||
		return 1
	if ! ip link show "$SOFTROCE_NETDEV" >/dev/null 2>&1; then
		ip link add "$SOFTROCE_NETDEV" type dummy ||
			softroce_fail "ip link add $SOFTROCE_NETDEV type dummy failed" || return 1
		ip addr add "$SOFTROCE_ADDR/24" dev "$SOFTROCE_NETDEV" &&
			ip link set "$SOFTROCE_NETDEV" up ||
			softroce_fail "cannot give $SOFTROCE_NETDEV the address $SOFTROCE_ADDR" || return 1
	fi
	if ! rdma link show "$SOFTROCE_DEV/1" >/dev/null 2>&1; then
		rdma link add "$SOFTROCE_DEV" type rxe netdev "$SOFTROCE_NETDEV" 2>"${TMPDIR:-/tmp}/softroce.err" ||
			softroce_fail "rdma link add $SOFTROCE_DEV type rxe netdev $SOFTROCE_NETDEV: $(cat "${TMPDIR:-/tmp}/softroce.err")" ||
			return 1
	fi
	# The port turns ACTIVE once the netdev is up; the user-space device node follows.
	for _ in $(seq 100); do
		state=$(rdma link show "$SOFTROCE_DEV/1" 2>/dev/null)
		case $state in *"state ACTIVE"*) [ -c /dev/infiniband/uverbs0 ] && return 0 ;; esac
		sleep 0.1
	done
	softroce_fail "$SOFTROCE_DEV did not turn ACTIVE with /dev/infiniband/uverbs0: ${state:-no such link}"
}

softroce_down() {
	rdma link delete "$SOFTROCE_DEV" 2>/dev/null
	ip link delete "$SOFTROCE_NETDEV" 2>/dev/null
	return 0
}
