# shellcheck shell=bash
# nethosts.sh: two processor hosts for the network tests and benchmark that boot vNodes: the
# shell's own network namespace is host A, a second one (kept by a holder process) is host
# B, and a veth pair between them plays the physical network (192.168.77.1 and .2, MTU
# 1550: the overlay then carries 1500-byte frames). No /run/netns: in the test bed /run is the
# host's own, shared over 9p. Needs tap.sh's $TAP_TMP and servers.sh (with its pki.sh: every
# component has a certificate of the test's PKI).
#   nethosts_reexec SCRIPT ARGS   run SCRIPT again in a network namespace of its own (host A);
#                                 returns in the new one
#   nethosts_setup                host B and the veth pair; sets HB (B's holder pid)
#   in_b CMD...                   CMD in host B's network namespace
#   nethosts_cluster [ARGS]       lego-controld (ARGS added; its state in $TAP_TMP/state), a
#                                 memory server and lego-pmon pa on A, lego-pmon pb on B: sets
#                                 U (virsh's URI), CONTROLD (HOST:PORT), LEGOCTL
#   nv ARGS                       the real virsh against it
#   linux_xml NAME HOST NETWORK CMDLINE [MEM_MIB] [EXCACHE_MIB]
#                                 the domain XML of a Linux vNode pinned to HOST, one
#                                 interface on NETWORK, the test image's kernel and initramfs
#   console_of NAME               the path of the vNode's console on its (current) host
#   wait_console NAME REGEX TENTHS  until the vNode's console shows REGEX (0), or not (1)
#   wait_file FILE REGEX TENTHS   the same on a console already found (a vNode that stays
#                                 put): no virsh or legoctl at each look
# Binaries: $NH_BIN (default $BUILD/asan/bin); the VMM is lego-vmm next to lego-pmon.
# shellcheck disable=SC2034 # variables are for the caller
NH_BIN=${NH_BIN:-$BUILD/asan/bin}
NH_A=192.168.77.1
NH_B=192.168.77.2

nethosts_reexec() {
	if [ -z "${LEGO_NETHOSTS_INNER:-}" ]; then
		LEGO_NETHOSTS_INNER=1 exec unshare --net bash "$@"
	fi
}

nethosts_setup() {
	unshare --net sleep 100000 </dev/null >/dev/null 2>&1 &
	HB=$!
	SERVER_PIDS+=("$HB")
	for _ in $(seq 50); do
		[ "$(readlink /proc/$HB/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.1
	done
	ip link set lo up &&
		ip link add lgva type veth peer name lgvb netns "$HB" &&
		ip addr add $NH_A/24 dev lgva && ip link set lgva mtu 1550 up &&
		in_b ip addr add $NH_B/24 dev lgvb && in_b ip link set lgvb mtu 1550 up &&
		in_b ip link set lo up
}

in_b() {
	nsenter --net="/proc/$HB/ns/net" "$@"
}

nethosts_cluster() {
	local sock=$TAP_TMP/libvirt-sock
	U="lego+unix:///system?socket=$sock"
	# Mutual TLS on every control port, under the test's throw-away PKI (pki.sh, through
	# servers.sh); each host's certificate valid for its address on the veth pair (the
	# migration stream checks it); lego-controld signs capabilities with the PKI's key.
	pki_issue controld ctl --host $NH_A && pki_issue mmon mm1 --host $NH_A &&
		pki_issue pmon pa --host $NH_A && pki_issue pmon pb --host $NH_B || return 1
	"$NH_BIN/lego-controld" --socket "$sock" --listen $NH_A:0 --port-file "$TAP_TMP/controld.port" \
		--state-dir "$TAP_TMP/state" --heartbeat-ms 500 "$@" 2>>"$TAP_TMP/controld.log" &
	SERVER_PIDS+=("$!")
	for _ in $(seq 300); do
		[ -s "$TAP_TMP/controld.port" ] && [ -S "$sock" ] && break
		sleep 0.1
	done
	CONTROLD=$NH_A:$(cat "$TAP_TMP/controld.port")
	LEGOCTL="$NH_BIN/legoctl -c $CONTROLD"
	MMON=$NH_BIN/lego-mmon SERVER_LISTEN=$NH_A:0 mmon_start mm1 "${NH_POOL:-1G}" --controld "$CONTROLD"
	# Every directory on the way to the DHCP files must be enterable by dnsmasq's user.
	chmod 711 "$TAP_TMP"
	SERVER_LISTEN=$NH_A:0 server_start "$NH_BIN/lego-pmon" pa --controld "$CONTROLD" --cores 4 \
		--memory 2G --run-dir "$TAP_TMP/run-pa" --dhcp-dir "$TAP_TMP/dhcp-pa"
	printf '#!/bin/sh\nexec nsenter --net=/proc/%s/ns/net %s "$@"\n' "$HB" "$NH_BIN/lego-pmon" \
		>"$TAP_TMP/pmon-b"
	chmod +x "$TAP_TMP/pmon-b"
	SERVER_LISTEN=$NH_B:0 server_start "$TAP_TMP/pmon-b" pb --controld "$CONTROLD" --cores 4 \
		--memory 2G --run-dir "$TAP_TMP/run-pb" --dhcp-dir "$TAP_TMP/dhcp-pb" \
		--vmm "$NH_BIN/lego-vmm"
	for _ in $(seq 300); do
		[ "$($LEGOCTL --json components 2>/dev/null | grep -o '"alive": true' | wc -l)" -ge 3 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

nv() {
	timeout 300 virsh -q -c "$U" "$@" 2>&1
}

linux_xml() { # name host network cmdline [mem MiB] [excache MiB]
	local l=$BUILD/images/linux
	cat <<EOF
<domain type='lego'><name>$1</name><memory unit='MiB'>${5:-256}</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>$l/vmlinux</kernel><initrd>$l/initramfs.cpio</initrd>
<cmdline>$4</cmdline></os>
<devices><interface type='network'><source network='$3'/></interface></devices>
<metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
<lego:excache unit='MiB'>${6:-${5:-256}}</lego:excache><lego:placement processor='$2'/>
</lego:vnode></metadata></domain>
EOF
}

console_of() { # vNode: its console file on the host it runs on (or ran on last)
	local u host
	# virsh may time out on a loaded machine: tried again, and only a uuid is taken
	for _ in 1 2 3; do
		u=$(nv domuuid "$1" | grep -Eo '^[0-9a-f-]{36}$') && break
		sleep 1
	done
	[ -n "$u" ] || return 1
	host=$($LEGOCTL --json vnode "$1" 2>/dev/null | sed -n 's/.*"host": "\([a-z]*\)".*/\1/p' | head -n 1)
	for h in $host pa pb; do
		[ -f "$TAP_TMP/run-$h/$u.console" ] && echo "$TAP_TMP/run-$h/$u.console" && return 0
	done
	return 1
}

wait_console() { # vNode regex tenths: a deadline (each look asks virsh and legoctl where
	# the vNode is, which takes long on a loaded machine: a count of looks would stretch)
	local f end=$((SECONDS + ($3 + 9) / 10))
	while [ "$SECONDS" -le "$end" ]; do
		f=$(console_of "$1") && grep -Eq "$2" "$f" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

wait_file() { # file regex tenths: a deadline. Only the file is read: a virsh and a legoctl
	# at each of wait_console's looks take a second or more of L1's one CPU, which a
	# measurement running meanwhile would lose
	local end=$((SECONDS + ($3 + 9) / 10))
	while [ "$SECONDS" -le "$end" ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
