#!/usr/bin/env bash
# linux-migration.t: a Linux vNode (the Debian kernel, 2 vCPUs, RAM on a lego-mmon, its disk a
# lego-smon volume) migrates twice mid-memcheck, each time to a new lego-vmm: the guest's
# checks pass on the third, which the guest ends through the debug-exit port; a destination
# not started for a Linux guest refuses it and the source runs on.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
CTL=$BUILD/asan/bin/legoctl
L=$BUILD/images/linux
tap_tmpdir
plan 14

. "$REPO/tests/lib/servers.sh"
PIDS=()
# Every console and log is kept in $BUILD/test-logs/linux-migration/, pass or fail.
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	server_kill_all
	rm -rf "$BUILD/test-logs/linux-migration"
	mkdir -p "$BUILD/test-logs/linux-migration"
	cp "$TAP_TMP"/*.txt "$TAP_TMP"/*.log "$BUILD/test-logs/linux-migration/" 2>/dev/null
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
show() { # lines: a TAP comment and on stderr
	diag "$@"
	printf 'linux-migration.t: %s\n' "$@" >&2
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}
# As in linux-guest.t: a quiet console, and the LAPIC's one-shot timer in the test bed.
APPEND="earlycon=uart8250,io,0x3f8 quiet mitigations=off"
kvm_nested && APPEND="$APPEND lapic=notscdeadline"
SEED=$((RANDOM + 1))
ok "[ -s '$L/vmlinux' ] && [ -s '$L/initramfs.cpio' ]" "the Linux guest image is built (make linux-image)"

# Its RAM on a memory server and its disk on a storage server; every VMM gets the vNode's own
# options (a destination adds --incoming), as lego-controld gives them. What moves: the
# vCPUs, their local APICs, the PICs, IOAPIC, PIT and kvm-clock, the devices, the console.
ASK=$BUILD/release/bin/vmm_ask
wait_exit() { # pid tenths: its exit status (killed after the limit: a hang must not stall)
	for _ in $(seq "$2"); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}
mmon_start mm2 512M
MP=$MMON_PORT
smon_start st2 --dir "$TAP_TMP/vols2"
SP=$SMON_PORT
"$CTL" --smon "127.0.0.1:$SP" volume create mvol 8M >/dev/null
# The migration stream is TLS between processor hosts' certificates (tests/lib/pki.sh).
. "$REPO/tests/lib/pki.sh"
pki_issue pmon lxm
MV=(--kernel "$L/vmlinux" --initrd "$L/initramfs.cpio" --mem 256M --cache 96M --cpus 2
	--mmon "127.0.0.1:$MP" --vnode-id 7100 --disk "smon://127.0.0.1:$SP/mvol"
	--pki "$PKI_DIR" --pki-name lxm "${VMM_CAPS[@]}")
VPIDS=()
mvmm() { # n args...: lego-vmm n of the vNode (console mig<n>-console.txt, log mig<n>.log)
	local n=$1
	shift
	"$VMM" "$@" --control "@lego-lxm-$$-$n" --console "$TAP_TMP/mig$n-console.txt" \
		>"$TAP_TMP/mig$n.log" 2>&1 </dev/null &
	VPIDS[n]=$!
	PIDS+=("$!")
}
listen_of() { # n: where lego-vmm n (--incoming) listens, once it does
	"$ASK" --field phase --until listening --timeout-ms 120000 "@lego-lxm-$$-$1" migration \
		>/dev/null 2>&1 && "$ASK" --field listen "@lego-lxm-$$-$1" migration 2>/dev/null
}
wait_console() { # n regex: until lego-vmm n's console shows it (at most 2 min)
	for _ in $(seq 1200); do
		grep -q "$2" "$TAP_TMP/mig$1-console.txt" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
t0=$(now_ms)
mvmm 0 "${MV[@]}" --append "$APPEND lego.rawdisk=/dev/vda lego.rawsize=4M lego.memcheck=24M lego.mempasses=100 lego.seed=$SEED"
# The destinations start while the guest boots (each takes seconds to start here), so that
# the hops come quickly once its memcheck runs: 9 does not know the guest is Linux (no
# --kernel), 1 and 2 are the vNode's next hosts.
wait_console 0 'lego-init: userspace'
mvmm 9 "${MV[@]:4}" --incoming 127.0.0.1:0
mvmm 1 "${MV[@]}" --incoming 127.0.0.1:0
mvmm 2 "${MV[@]}" --incoming 127.0.0.1:0
L9=$(listen_of 9)
L1=$(listen_of 1)
L2=$(listen_of 2)
wait_console 0 'lego-init: modules loaded'
show "migration: the guest's memcheck started $(($(now_ms) - t0)) ms after lego-vmm"
# A destination that was not told the guest is Linux refuses it; the source runs on.
like "$("$ASK" "@lego-lxm-$$-0" "migrate $L9" 2>&1)" '"migration": "started"' \
	"migrate to a lego-vmm --incoming started without the Linux --kernel"
wait_exit "${VPIDS[9]}" 600
is "$?" 124 "... which refuses the vNode and ends with 124"
like "$(cat "$TAP_TMP/mig9.log")" "the source runs a Linux guest \(KVM's in-kernel interrupt controllers\)" \
	"... saying that the source runs a Linux guest"
"$ASK" --field phase --until failed --timeout-ms 60000 "@lego-lxm-$$-0" migration >/dev/null 2>&1
like "$("$ASK" "@lego-lxm-$$-0" stats 2>&1)" '"state": "running"' "... and the source runs on"
hops=0
LISTEN=("" "$L1" "$L2")
for n in 1 2; do
	from=$((n - 1))
	grep -q 'RESULT memcheck' "$TAP_TMP/mig$from-console.txt" && break
	a=$("$ASK" "@lego-lxm-$$-$from" "migrate ${LISTEN[n]}" 2>&1)
	wait_exit "${VPIDS[from]}" 1200
	rc=$?
	ph=$("$ASK" --field phase "@lego-lxm-$$-$n" migration 2>/dev/null)
	show "migration $n: $a; the source ended with $rc, the destination is $ph; $(grep -o 'migration: the vNode runs here.*' "$TAP_TMP/mig$n.log")"
	[ "$rc" = 126 ] && [ "$ph" = running ] && hops=$n
	[ "$hops" = "$n" ] || break
done
is "$hops" 2 "the Linux vNode migrated twice, each time to a new lego-vmm"
unlike "$(cat "$TAP_TMP/mig1-console.txt" 2>/dev/null)" 'RESULT memcheck' \
	"... the first time in the middle of its memcheck"
wait_exit "${VPIDS[2]}" 3000
is "$?" 0 "the vNode ends on its third lego-vmm with the guest's verdict, 0"
CON=$(cat "$TAP_TMP/mig2-console.txt")
like "$CON" 'RESULT memcheck PASS size=25165824 threads=2 passes=100 errors=0' \
	"memcheck: 100 passes from both CPUs verified across the migrations"
like "$CON" 'RESULT blkcheck PASS path=/dev/vda bytes=4194304 .*errors=0' \
	"the lego-smon volume written and read back raw after them"
like "$CON" 'lego-init: RESULT PASS' "the guest's result line"
is "$(grep -c 'Linux version' <<<"$CON")" 1 "the last lego-vmm's console holds the whole run, once"
logs=$(cat "$TAP_TMP"/mig[0-2].log)
like "$(cat "$TAP_TMP/mig2.log")" 'guest wrote 0 to the debug-exit port' \
	"... which ended through the debug-exit port"
no_sanitizer_report "$logs$(cat "$TAP_TMP/mig9.log")" "the migrating lego-vmm processes"
show "the whole test took $SECONDS s$(kvm_nested && echo " in L1, after L1's boot")"
done_testing
