#!/usr/bin/env bash
# vmm-cli.t: lego-vmm's command-line and image errors: each is specific, none needs KVM.
. "$(dirname "$0")/../lib/tap.sh"
VMM=$BUILD/asan/bin/lego-vmm
GUEST=$BUILD/images/lego-guest.elf
tap_tmpdir
plan 61

run() { # args...: sets OUT and RC
	OUT=$("$VMM" "$@" 2>&1 </dev/null)
	RC=$?
}

run --help
is "$RC" 0 "--help exits 0"
like "$OUT" "Usage: lego-vmm --kernel IMAGE" "--help shows usage"

run --frobnicate
is "$RC" 64 "unknown option exits 64"
like "$OUT" "unknown option '--frobnicate'" "unknown option is named"

run --kernel "$GUEST" --mem 1M
is "$RC" 64 "memory below the minimum exits 64"
like "$OUT" "memory size 1M is out of range" "memory out of range is explained"

run --kernel "$GUEST" --mem 128G
like "$OUT" "memory size 128G is out of range" "memory above the maximum is refused"

run --kernel "$GUEST" --mem 7M
like "$OUT" "multiple of 2 MiB" "memory must be a multiple of 2 MiB"

run --kernel "$GUEST" --mem lots
like "$OUT" "--mem 'lots' is not a size" "a non-size is refused"

run --kernel "$GUEST" --cpus 65
like "$OUT" "--cpus '65' must be a number from 1 to 64" "too many vCPUs is refused"

run
like "$OUT" "no guest image given" "a missing --kernel is explained"

run --kernel "$TAP_TMP/nope.elf"
is "$RC" 125 "a missing image exits 125"
like "$OUT" "cannot open guest image '.*nope.elf': No such file or directory" "a missing image is named"

head -c 4096 /dev/urandom | tr "\\177" x >"$TAP_TMP/text.elf"
run --kernel "$TAP_TMP/text.elf"
like "$OUT" "is invalid: not an ELF file \\(bad magic\\)" "a non-ELF image is refused"

cp /bin/true "$TAP_TMP/dyn.elf"
run --kernel "$TAP_TMP/dyn.elf"
like "$OUT" "is invalid: ELF type 3 is not a static executable" "a dynamic ELF (PIE) is refused"

truncate -s 6M "$TAP_TMP/big.elf"
run --kernel "$TAP_TMP/big.elf" --mem 4M
like "$OUT" "is larger than guest RAM \\(4 MiB\\)" "an image larger than RAM is refused"

# A valid image whose bss does not fit: the guest needs more than 4 MiB? Use a segment past RAM.
python3 - "$GUEST" "$TAP_TMP/far.elf" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
phoff = struct.unpack_from('<Q', b, 32)[0]
phnum = struct.unpack_from('<H', b, 56)[0]
for i in range(phnum):
    off = phoff + i * 56
    if struct.unpack_from('<I', b, off)[0] == 1:  # PT_LOAD: move it to 32 MiB
        struct.pack_into('<Q', b, off + 24, 32 << 20)
        break
open(sys.argv[2], 'wb').write(b)
PY
run --kernel "$TAP_TMP/far.elf" --mem 8M
like "$OUT" "is larger than guest RAM: segment [0-9]+ .* does not fit in 8 MiB" "a segment beyond RAM is refused"

run --kernel "$GUEST" --disk "$TAP_TMP/missing.img"
like "$OUT" "missing.img" "a missing disk file is named"

run --kernel "$GUEST" --disk "$TAP_TMP/x.img,rw"
like "$OUT" "the only option is ',ro'" "an unknown disk option is refused"

run --kernel "$GUEST" --disk smon://127.0.0.1/vol
like "$OUT" "must be smon://HOST:PORT/VOLUME" "a storage-server disk without a port is refused"
run --kernel "$GUEST" --disk smon://127.0.0.1:7420/../etc
like "$OUT" "must be smon://HOST:PORT/VOLUME" "a bad volume name is refused"
run --kernel "$GUEST" --smon-channels 0
like "$OUT" "--smon-channels '0' must be a number from 1 to 64" "--smon-channels 0 is refused"
run --kernel "$GUEST" --smon-timeout soon
like "$OUT" "--smon-timeout 'soon' must be" "a bad --smon-timeout is refused"
run --kernel "$GUEST" --disk smon://127.0.0.1:1/vol
like "$OUT" "storage server 127.0.0.1:1: cannot connect" "an unreachable storage server is named"

# --region-owners: one memory-server index per vRegion, checked before any connection.
run --help
like "$OUT" "--region-owners LIST" "--help lists --region-owners"
like "$OUT" "'pause', 'resume'" "--help names the control socket's pause and resume"
MM=(--mmon 127.0.0.1:1 --mmon 127.0.0.1:2 --mem 16M --region-size 4M)
run --kernel "$GUEST" --mem 16M --region-owners 0
is "$RC" 64 "--region-owners without --mmon exits 64"
like "$OUT" "--region-owners needs --mmon" "... saying --mmon is needed"
run --kernel "$GUEST" "${MM[@]}" --region-owners 0,1,2,0
is "$RC" 64 "an owner index beyond the --mmon list exits 64"
like "$OUT" "--region-owners '0,1,2,0': server index 2 is out of range: 2 --mmon server\(s\) are indexed 0..1" \
	"... naming the index and the servers"
run --kernel "$GUEST" "${MM[@]}" --region-owners 0,1,0
is "$RC" 64 "fewer owners than vRegions exits 64"
like "$OUT" "names 3 vRegion\(s\), but --mem 16 MiB in vRegions of 4 MiB makes 4" "... giving both counts"
run --kernel "$GUEST" "${MM[@]}" --region-owners 0,1,0,1,1
like "$OUT" "names 5 vRegion\(s\), .* makes 4" "more owners than vRegions is refused"
run --kernel "$GUEST" "${MM[@]}" --mem 18M --region-owners 0,1,0,1
like "$OUT" "makes 5" "a partial last vRegion counts (18 MiB in 4 MiB vRegions: 5)"
run --kernel "$GUEST" "${MM[@]}" --region-owners 0,1,,1
like "$OUT" "--region-owners '0,1,,1' must be comma-separated memory-server indexes" "an empty item is refused"
run --kernel "$GUEST" "${MM[@]}" --region-owners 0,1,0,
like "$OUT" "must be comma-separated" "a trailing comma is refused"
run --kernel "$GUEST" "${MM[@]}" --region-owners 0,1,x,-1
is "$RC" 64 "a non-number owner exits 64"
like "$OUT" "'x' is not a memory-server index" "... naming it"

# --pager-mode: a known mode, with --mmon; zero copy is not for a vNode with vhost-net NICs.
run --kernel "$GUEST" "${MM[@]}" --pager-mode fast
is "$RC" 64 "an unknown --pager-mode exits 64"
like "$OUT" "--pager-mode 'fast' must be auto, copy or zerocopy" "... naming the modes"
run --kernel "$GUEST" --mem 16M --pager-mode copy
like "$OUT" "--pager-mode needs --mmon" "--pager-mode without --mmon is refused"
run --kernel "$GUEST" "${MM[@]}" --pager-mode zerocopy --net tap=lgt0,mac=52:54:00:00:00:01
is "$RC" 64 "--pager-mode zerocopy with --net exits 64"
like "$OUT" "--pager-mode zerocopy cannot serve a vNode with --net \(vhost-net shares guest RAM\)" \
	"... saying vhost-net shares guest RAM"
run --help
like "$OUT" "--pager-mode MODE" "--help lists --pager-mode"
# NICs: --net is checked before anything runs (no tap is touched here).
run --kernel "$GUEST" --net tap=lgt0,mac=01:00:5e:00:00:01
is "$RC" 64 "a multicast MAC exits 64"
like "$OUT" "--net 'tap=lgt0,mac=01:00:5e:00:00:01': mac= must be one unicast address" "... saying so"
run --kernel "$GUEST" --net mac=52:54:00:00:00:01
like "$OUT" "--net 'mac=52:54:00:00:00:01': tap=IFNAME is missing" "a NIC without a tap is refused"
run --kernel "$GUEST" --net tap=lgt0,vhost=off
like "$OUT" "unknown item 'vhost' \(tap=, mac=, ip=\)" "an unknown item is refused, naming the known ones"
run --kernel "$GUEST" --net tap=lgt0,ip=10.1.2
like "$OUT" "ip= must be one IPv4 address, not '10.1.2'" "a malformed IPv4 address is refused"
run --kernel "$GUEST" --net tap=lgt0 --net tap=lgt0
is "$RC" 64 "the same tap twice exits 64"
like "$OUT" "tap lgt0 is named twice" "... naming it"
run --kernel "$GUEST" --net tap=a,mac=52:54:00:00:00:01 --net tap=b,mac=52:54:00:00:00:01
like "$OUT" "NICs 0 and 1 both have MAC 52:54:00:00:00:01" "the same MAC twice is refused"
run --kernel "$GUEST" --net tap=a0 --net tap=a1 --net tap=a2 --net tap=a3 --net tap=a4 \
	--net tap=a5 --net tap=a6 --net tap=a7 --net tap=a8
like "$OUT" "too many --net options \(at most 8\)" "a ninth NIC is refused"
run --help
like "$OUT" "--net tap=IFNAME\[,mac=MAC\]\[,ip=ADDR\]" "--help describes --net"

# Linux images: told apart by content; a Linux kernel needs hardware virtualization.
head -c 4096 /dev/zero >"$TAP_TMP/bz"
printf '\125\252' | dd of="$TAP_TMP/bz" bs=1 seek=510 conv=notrunc 2>/dev/null
printf 'HdrS' | dd of="$TAP_TMP/bz" bs=1 seek=514 conv=notrunc 2>/dev/null
run --kernel "$GUEST" --initrd "$TAP_TMP/bz"
is "$RC" 125 "--initrd with the freestanding guest exits 125"
like "$OUT" "--initrd is for a Linux kernel; '$GUEST' is a freestanding ELF guest" "... saying why"
run --initrd x --incoming 127.0.0.1:0 --mmon 127.0.0.1:1
is "$RC" 64 "--initrd without --kernel (an --incoming vNode's) exits 64"
run --kernel "$TAP_TMP/bz"
if grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
	_tap_result 0 "a Linux kernel without VT-x/AMD-V # skip this CPU has hardware virtualization"
	_tap_result 0 "... explained # skip this CPU has hardware virtualization"
else
	is "$RC" 125 "a Linux kernel on a CPU without VT-x/AMD-V exits 125"
	like "$OUT" "cannot boot '$TAP_TMP/bz' \\(a Linux bzImage\\): this CPU has no hardware virtualization \\(VT-x/AMD-V\\)" \
		"... saying that PVM cannot run it and where it can run"
fi

# No /dev/kvm: hide it in a private mount namespace (needs root; the check itself must not).
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	OUT=$(unshare -m --propagation private sh -c 'mount -t tmpfs none /dev && exec "$0" --kernel "$1"' "$VMM" "$GUEST" 2>&1)
	RC=$?
else
	OUT="no /dev/kvm: skipped (not root)"
	RC=125
fi
is "$RC" 125 "no /dev/kvm exits 125"
like "$OUT" "no /dev/kvm" "no /dev/kvm is explained"
done_testing
