#!/usr/bin/env bash
# guest-console.t: Debian's virsh console into running guests, through lego-controld,
# lego-pmon and lego-vmm's UART, typed on a pseudo-terminal (tests/lib/console-drive): the
# freestanding guest's echo workload (the UART's receive side, polled) answers the lines
# typed; the Linux guest started with lego.shell=1 (the receive interrupt, the 8250 driver,
# a root shell on ttyS0) runs a command and shows its output, and its `exit` ends the vNode
# and the console stream with it.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
GUEST=$BUILD/images/lego-guest.elf
L=$BUILD/images/linux
CTL=$BUILD/asan/bin/legoctl
DRIVE=$REPO/tests/lib/console-drive
tap_tmpdir
plan 15

. "$REPO/tests/lib/servers.sh"
. "$REPO/tests/lib/cluster.sh"
# What virsh showed, the consoles and the daemons' logs are kept in
# $BUILD/test-logs/guest-console/, pass or fail.
cleanup() {
	pkill -9 -f "lego-vmm.*$CLUSTER_RUN" 2>/dev/null
	rm -rf "$BUILD/test-logs/guest-console"
	mkdir -p "$BUILD/test-logs/guest-console"
	cp "$TAP_TMP"/*.out "$TAP_TMP"/*.err "$TAP_TMP"/*.log "$CLUSTER_RUN"/pmon-*/*.console \
		"$CLUSTER_RUN"/pmon-*/*.log "$BUILD/test-logs/guest-console/" 2>/dev/null
	cluster_cleanup
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

controld_start --region-size 32M
pmon_start host-a --cores 2 --memory 512M
cluster_mmon mem-a 512M
ok "wait_alive 2" "lego-controld, a processor host and a memory server"
N=$((RANDOM + 1))
console() { # name steps...: console-drive on virsh console NAME, its screen in $TAP_TMP/NAME.out
	local name=$1
	shift
	"$DRIVE" --log "$TAP_TMP/$name.out" "$@" -- virsh -c "$LIBVIRT_URI" console "$name" \
		2>"$TAP_TMP/$name.err"
}
wait_state() { # name state-regex seconds
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		lvirsh domstate "$1" --reason 2>/dev/null | grep -Eq "$2" && return 0
		sleep 0.5
	done
	return 1
}
xml() { # name memory-MiB excache-MiB kernel initrd cmdline
	cat <<EOF
<domain type='lego'><name>$1</name><memory unit='MiB'>$2</memory><vcpu>1</vcpu>
  <os><type>hvm</type><kernel>$4</kernel>${5:+<initrd>$5</initrd>}<cmdline>$6</cmdline></os>
  <metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
    <lego:excache unit='MiB'>$3</lego:excache></lego:vnode></metadata>
</domain>
EOF
}

# ---- 1. the freestanding guest: lines typed in virsh console, answered by the guest ----
xml fs 32 8 "$GUEST" "" "run=echo echo.seconds=400" >"$TAP_TMP/fs.xml"
lvirsh define "$TAP_TMP/fs.xml" >/dev/null 2>&1
like "$(lvirsh start fs 2>&1)" "Domain 'fs' started" "virsh start: the freestanding guest with run=echo"
console fs --timeout 120 --expect 'Escape character' --raw --expect 'echo: type a line' \
	--send "hello lego-$N\r" --expect "echo: line 1: 'hello lego-$N'" \
	--send 'quit\r' --expect 'RESULT echo PASS lines=2' --exit 0
is "$?" 0 "virsh console: the guest answered 'hello lego-$N' and 'quit'; its end ended the console (exit 0) $(tail -c 400 "$TAP_TMP/fs.err")"
ok "wait_state fs 'shut off \\(shutdown\\)' 60" "the guest ended by itself: shut off (shutdown)"
like "$(tr '\r\n' '  ' <"$TAP_TMP/fs.out")" "lego-guest: abi=.*echo: type a line.*echo: line 2: 'quit'" \
	"virsh showed the console's history, then the answers"

# ---- 2. Linux: a root shell on ttyS0 (lego.shell=1) ---------------------------------
APPEND="earlycon=uart8250,io,0x3f8 quiet mitigations=off"
# As in linux-guest.t: the LAPIC's one-shot timer in the test bed.
kvm_nested && APPEND="$APPEND lapic=notscdeadline"
REL=$(grep -a -o -m1 'Linux version [^ ]*' "$L/vmlinux" | head -n 1 | cut -d' ' -f3)
ok "[ -n '$REL' ] && [ -s '$L/initramfs.cpio' ]" "the Linux guest image is built (kernel $REL)"
xml lnx 192 128 "$L/vmlinux" "$L/initramfs.cpio" "$APPEND lego.memcheck=0 lego.shell=1" \
	>"$TAP_TMP/lnx.xml"
lvirsh define "$TAP_TMP/lnx.xml" >/dev/null 2>&1
like "$(lvirsh start lnx 2>&1)" "Domain 'lnx' started" "virsh start: Linux with lego.shell=1"
# The shell's prompt comes after Enter; the command's output (42, not the typed $((6 * 7)))
# and the kernel release on lines of their own; then it waits until the test has looked.
console lnx --timeout 400 --expect 'Escape character' --raw \
	--expect 'a root shell on ttyS0' --timeout 120 --send '\r' --expect 'lego-guest:/# ' \
	--send "echo lego-\$((6 * 7))-$N; uname -r\r" --expect "\nlego-42-$N\r?\n$REL\r?\n" \
	--expect 'lego-guest:/# ' --mark "$TAP_TMP/lnx.ran" \
	--wait-file "$TAP_TMP/lnx.go" --send 'exit\r' --expect 'lego-init: RESULT PASS' \
	--exit 0 &
dpid=$!
for _ in $(seq 1200); do
	[ -e "$TAP_TMP/lnx.ran" ] || ! kill -0 "$dpid" 2>/dev/null && break
	sleep 0.5
done
ok "[ -e '$TAP_TMP/lnx.ran' ]" "virsh console: Enter gives the shell's prompt; 'echo lego-\$((6 * 7))-$N; uname -r' printed lego-42-$N and $REL $(tail -c 400 "$TAP_TMP/lnx.err")"
js=$("$CTL" -c "$CONTROLD" --json vnode lnx 2>&1)
like "$js" '"console_in_bytes": [1-9][0-9]*' "legoctl vnode: the guest read its input from the UART"
like "$(lvirsh domstate lnx)" "running" "the vNode runs while the shell does"
touch "$TAP_TMP/lnx.go"
wait "$dpid"
is "$?" 0 "'exit' ended the shell, the guest's init its vNode, and the console stream with it (virsh exit 0) $(tail -c 400 "$TAP_TMP/lnx.err")"
ok "wait_state lnx 'shut off \\(shutdown\\)' 60" "Linux ended by itself: shut off (shutdown)"
con=$(cat "$TAP_TMP/lnx.out")
like "$con" "lego-init: the shell exited \\(0\\)" "the init saw the shell's exit"
like "$con" "Linux version $REL" "the console's history came first: the kernel's first lines"
logs=$(cat "$TAP_TMP"/*.log "$CLUSTER_RUN"/pmon-*/*.log 2>/dev/null)
unlike "$logs" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report from any daemon or VMM"
done_testing
