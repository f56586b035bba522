#!/usr/bin/env bash
# linux-guest.t: lego-vmm boots the Debian kernel (ELF vmlinux and bzImage) with 2 vCPUs, a virtio-blk root disk and a lego-smon volume, guest RAM on a lego-mmon with an ExCache smaller than RAM; the guest's checks pass and it ends cleanly.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
CTL=$BUILD/asan/bin/legoctl
SMON_IO=$BUILD/asan/bin/smon_io
L=$BUILD/images/linux
BLKCHECK=$L/bin/lego-blkcheck
tap_tmpdir
plan 36

. "$REPO/tests/lib/servers.sh"
PIDS=()
# The guest's consoles and lego-vmm's logs are kept in $BUILD/test-logs/linux-guest/ (pass or
# fail), with summary.txt: the timings, the guest's console, the remote-memory figures.
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	server_kill_all
	rm -rf "$BUILD/test-logs/linux-guest"
	mkdir -p "$BUILD/test-logs/linux-guest"
	cp "$TAP_TMP"/*.txt "$TAP_TMP"/*.log "$TAP_TMP"/*.json "$BUILD/test-logs/linux-guest/" 2>/dev/null
	rm -rf "$TAP_TMP"
}
show() { # lines: a TAP comment, on stderr, and in summary.txt (make test prints it)
	diag "$@"
	printf 'linux-guest.t: %s\n' "$@" >&2
	printf '%s\n' "$@" >>"$TAP_TMP/summary.txt"
}
trap cleanup EXIT

fig() { # name: a pager figure from the --stats JSON in $stats
	/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pager"][sys.argv[2]])' \
		"$stats" "$1" 2>/dev/null || echo 0
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Kept off the console so that the guest spends its time on the checks: earlycon replays the
# kernel's first lines (its version, command line and e820 map), quiet keeps the rest.
APPEND="earlycon=uart8250,io,0x3f8 quiet mitigations=off"
# In the test bed, L1's KVM (on QEMU's emulated SVM) fires L2's TSC-deadline timer tens of
# seconds to minutes late once the guest idles: a poweroff waiting on an RCU grace period
# took 40-260 s. The LAPIC's one-shot mode has no such delay (the same poweroff: 14 s).
kvm_nested && APPEND="$APPEND lapic=notscdeadline"

# boot NAME ARGS...: lego-vmm (at most BOOT_LIMIT s: unloaded, each boot here takes under a
# minute, but make test runs two test-bed VMs at once on two cores) with the console in
# $TAP_TMP/NAME-console.txt and its log in NAME.log; sets RC, CON, OUT, and FIRST_MS / USER_MS (the first console line and the
# init's first line, from lego-vmm's start) by watching the console file.
boot() {
	local name=$1 t0 vpid
	shift
	t0=$(now_ms)
	FIRST_MS=- USER_MS=-
	timeout "${BOOT_LIMIT:-480}" "$VMM" --console "$TAP_TMP/$name-console.txt" "$@" >"$TAP_TMP/$name.log" 2>&1 </dev/null &
	vpid=$!
	PIDS+=("$vpid")
	while kill -0 "$vpid" 2>/dev/null; do
		if [ "$FIRST_MS" = - ] && [ -s "$TAP_TMP/$name-console.txt" ]; then
			FIRST_MS=$(($(now_ms) - t0))
		fi
		if [ "$USER_MS" = - ] && grep -q 'lego-init: userspace' "$TAP_TMP/$name-console.txt" 2>/dev/null; then
			USER_MS=$(($(now_ms) - t0))
		fi
		sleep 0.2
	done
	wait "$vpid"
	RC=$?
	TOTAL_MS=$(($(now_ms) - t0))
	CON=$(cat "$TAP_TMP/$name-console.txt" 2>/dev/null)
	OUT=$(cat "$TAP_TMP/$name.log")
	show "$name: first console line after $FIRST_MS ms, userspace after $USER_MS ms, ended after $TOTAL_MS ms (status $RC)"
}
no_sanitizer_report() { # text name
	unlike "$1" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$2: no sanitizer report"
}

kvm_nested && show "in the nested test bed: L1 had been up $(cut -d' ' -f1 /proc/uptime) s when this test started"
ok "[ -s '$L/vmlinux' ] && [ -s '$L/bzImage' ] && [ -s '$L/initramfs.cpio' ] && [ -s '$L/root.ext4' ]" \
	"the Linux guest image is built (make linux-image)"

# ---- 1. vmlinux, 2 vCPUs, remote RAM through a smaller ExCache, a root disk and a volume ----
mmon_start mm1 512M
MP=$MMON_PORT
smon_start st1 --dir "$TAP_TMP/vols"
SP=$SMON_PORT
ok "[ -n '$MP' ] && [ -n '$SP' ]" "lego-mmon and lego-smon listening (ports $MP, $SP)"
"$CTL" --smon "127.0.0.1:$SP" volume create lvol 16M >/dev/null
is "$?" 0 "a 16 MiB volume on lego-smon"
cp "$L/root.ext4" "$TAP_TMP/root.img"
SEED=$((RANDOM + 1))
boot vmlinux --kernel "$L/vmlinux" --initrd "$L/initramfs.cpio" --mem 256M --cache 96M --cpus 2 \
	--mmon "127.0.0.1:$MP" --disk "$TAP_TMP/root.img" --disk "smon://127.0.0.1:$SP/lvol" \
	"${VMM_CAPS[@]}" \
	--stats "$TAP_TMP/vmlinux.json" \
	--append "$APPEND root=/dev/vda lego.rawdisk=/dev/vdb lego.memcheck=24M lego.rawsize=4M lego.filecheck=2M lego.seed=$SEED lego.keep=1"
show "the guest's console:"
mapfile -t lines < <(grep -v '^\[    0\.000000\] *\(BIOS-e820\|printk\|earlycon\)' <<<"$CON")
show "${lines[@]/#/  }"
is "$RC" 0 "vmlinux: lego-vmm ends with the guest's verdict, 0"
like "$CON" '^\[ *0\.0+\] Linux version 6\.' "vmlinux: the kernel's own console lines (Linux version)"
like "$CON" 'BIOS-e820: \[mem 0x00000000c0000000-0x00000000c0001fff\] reserved' \
	"vmlinux: the e820 map reserves the two devices' MMIO window"
like "$CON" 'lego-init: userspace after [0-9.]+ s: [^,]*, 2 CPU\(s\)' "vmlinux: userspace on 2 CPUs"
like "$CON" 'lego-init: modules loaded; disks: vda vdb' "vmlinux: the stock virtio_mmio and virtio_blk found both disks (ACPI)"
like "$CON" 'RESULT memcheck PASS size=25165824 threads=2 .*errors=0' "vmlinux: memory verified from both CPUs"
like "$CON" 'RESULT manifest PASS files=[1-9][0-9]* .*errors=0' "vmlinux: every file of the ext4 root disk read back intact"
like "$CON" 'RESULT blkcheck PASS path=/mnt/lego-filecheck.dat .*errors=0' "vmlinux: a file written through ext4 read back intact"
like "$CON" 'RESULT blkcheck PASS path=/dev/vdb bytes=4194304 .*direct=1 errors=0' "vmlinux: the lego-smon volume written and read back raw"
like "$CON" 'lego-init: RESULT PASS' "vmlinux: the guest's result line"
like "$OUT" 'guest wrote 0 to the debug-exit port' "vmlinux: the guest ended the vNode through the debug-exit port"
no_sanitizer_report "$OUT" "vmlinux"
stats=$(cat "$TAP_TMP/vmlinux.json" 2>/dev/null)
show "remote memory: $(grep -o 'pager: faults=.*' <<<"$OUT")"
show "remote memory (--stats): remote_fetches=$(fig remote_fetches) pages_fetched=$(fig pages_fetched) evictions=$(fig evictions) writebacks=$(fig writebacks) resident_pages=$(fig resident_pages) cache_pages=$(fig cache_pages)"
ok "[ $(fig remote_fetches) -gt 0 ] && [ $(fig pages_fetched) -gt 0 ]" \
	"vmlinux: faults served from the memory server: $(fig remote_fetches) (pages $(fig pages_fetched))"
ok "[ $(fig evictions) -gt 0 ] && [ $(fig writebacks) -gt 0 ]" \
	"vmlinux: the ExCache evicted ($(fig evictions)) and wrote back ($(fig writebacks)) pages"
ok "[ $(fig resident_pages) -le $(fig cache_pages) ] && [ $(fig cache_pages) -lt 65536 ]" \
	"vmlinux: resident $(fig resident_pages) pages within the 96 MiB ExCache ($(fig cache_pages)) of 256 MiB"
# What the guest wrote is on the disks: the file in the ext4 image, the raw pattern on the volume.
debugfs -R "dump /lego-filecheck.dat $TAP_TMP/filecheck.dat" "$TAP_TMP/root.img" >/dev/null 2>&1
like "$("$BLKCHECK" --verify-only --size 2M --seed "$SEED" "$TAP_TMP/filecheck.dat" 2>&1)" \
	'RESULT blkcheck PASS' "the file the guest wrote is in the root disk image, intact"
"$SMON_IO" "127.0.0.1:$SP" lvol read 0 4M >"$TAP_TMP/lvol.raw" 2>/dev/null
like "$("$BLKCHECK" --verify-only --size 4M --seed "$SEED" "$TAP_TMP/lvol.raw" 2>&1)" \
	'RESULT blkcheck PASS' "the pattern the guest wrote is on the lego-smon volume, intact"
kill -TERM "$MMON_PID" "$SMON_PID"
wait "$MMON_PID"
is "$?" 0 "lego-mmon shuts down cleanly"
like "$(cat "$TAP_TMP/mm1.log")" "served [1-9][0-9]* reads, [1-9][0-9]* writes, refused 0 requests" \
	"lego-mmon served the vNode's page reads and write-backs, refusing none"

# ---- 2. the bzImage (it decompresses itself), local RAM, powered off through ACPI ----------
boot bzimage --kernel "$L/bzImage" --initrd "$L/initramfs.cpio" --mem 192M --cpus 1 \
	--append "$APPEND lego.memcheck=8M lego.end=poweroff"
is "$RC" 0 "bzImage: lego-vmm ends with 0"
like "$CON" 'Linux version 6\.' "bzImage: the kernel's own console lines"
like "$CON" 'lego-init: userspace after [0-9.]+ s: [^,]*, 1 CPU\(s\)' "bzImage: userspace"
like "$CON" 'lego-init: modules loaded; disks: none' "bzImage: no disks given, none found"
like "$CON" 'lego-init: RESULT PASS' "bzImage: the guest's checks passed"
like "$OUT" 'the guest powered off: the vNode ends with status 0' "bzImage: poweroff -f reached the ACPI sleep register"
no_sanitizer_report "$OUT" "bzImage"

# ---- 3. a panic (it reboots, as reboot -f does: through the ACPI reset register), refusals --
boot panic --kernel "$L/vmlinux" --mem 128M --append "$APPEND"
like "$CON" 'Kernel panic' "no initramfs: the kernel panics on its console"
is "$RC" 0 "the panic (panic=-1) resets the machine, which ends the vNode with 0"
like "$OUT" 'the guest reset the machine' "the reset went through the FADT's reset register"
out=$("$VMM" --kernel "$L/vmlinux" --initrd "$L/initramfs.cpio" --mem 64M 2>&1)
is "$?" 125 "a kernel and initrd too large for 64 MiB of RAM: exit 125"
like "$out" "initrd \\([0-9]+ bytes\\) does not fit in guest RAM|does not fit in guest RAM" "... saying what does not fit"
out=$("$VMM" --kernel "$L/vmlinux" --initrd "$TAP_TMP/none" 2>&1)
is "$?" 125 "a missing initrd: exit 125"
like "$out" "cannot open initrd '$TAP_TMP/none'" "... naming it"
show "the whole test took $SECONDS s$(kvm_nested && echo " in L1, after L1's boot")"
done_testing
