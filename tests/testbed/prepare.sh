#!/usr/bin/env bash
# prepare.sh: build, once and cached under $BUILD/testbed/, the nested test bed's L1 kernel and initramfs.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: tests/testbed/prepare.sh [--if-needed] [--quiet] [--help]

Prepares the nested KVM test bed used by tests/testbed/run-in-l1, under $BUILD/testbed/
(BUILD defaults to build/ in the repository):
  1. installs the Debian packages it needs (scripts/install-deps.sh);
  2. resolves the Debian kernel package from `apt-cache depends linux-image-amd64`;
  3. downloads it (apt-get download) and unpacks its bzImage and the modules L1 needs;
  4. extracts the ELF vmlinux from the bzImage (L1 boots it via PVH, ~4 s faster);
  5. builds an uncompressed newc initramfs: busybox-static, tests/testbed/l1-init, modules
     (and, in lib/modules/net/ and lib/modules/rdma/, the network and Soft-RoCE sets that
     run-in-l1 --with net and --with rdma load).
Each stage is redone only when its inputs changed; one progress line per stage on stderr.

  --if-needed  do nothing at all if everything was prepared in the last 24 hours and the
               test bed's scripts have not changed since (what run-in-l1 uses)
  --quiet      print only the stages that do work
Outputs: $BUILD/testbed/l1-kernel, $BUILD/testbed/l1-initramfs.cpio; for the Linux guest
image (images/linux.mk): $BUILD/testbed/kernel/vmlinuz (the bzImage) and
$BUILD/testbed/kernel/guest-modules/ (its modules, with their load order in "order");
modules L1 may load on demand: $BUILD/testbed/kernel/l1-extra-modules/ (nbd)
EOF
}

if_needed=0
quiet=0
while [ $# -gt 0 ]; do
	case $1 in
	--if-needed) if_needed=1 ;;
	--quiet) quiet=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "prepare.sh: unknown option '$1' (see --help)" >&2
		exit 64
		;;
	esac
	shift
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
T=$BUILD/testbed
READY=$T/ready

# The modules L1 loads (their dependencies are added from each module's depends= modinfo):
# KVM on AMD SVM, the virtio-9p root share, the virtio-serial output port, and a virtio-blk
# scratch disk with ext4 (run-in-l1 --scratch).
WANT_MODULES="irqbypass ccp kvm kvm-amd virtio virtio_ring virtio_pci_legacy_dev \
virtio_pci_modern_dev virtio_pci 9pnet 9pnet_virtio netfs fscache 9p virtio_console \
virtio_blk crc32c_generic ext4"
# The opt-in network set (run-in-l1 --with net): taps, vhost-net, bridges, veth pairs, VXLAN
# and nftables with the bridge family's meta (iifname, oifname: nft_meta_bridge) for lego-pmon's
# networks (network.t, network.bench). Kept
# apart in $K/net-modules (only those not in WANT_MODULES) and loaded only for the tests that
# ask, since every module costs L1 boot time.
NET_MODULES="tun vhost_net bridge veth vxlan nf_tables nft_meta_bridge"
# The opt-in Soft-RoCE set (run-in-l1 --with rdma; tests/lib/softroce.sh makes the device):
# crc32_generic first, since rdma_rxe needs the crc32 algorithm and L1 cannot auto-load it (no
# modprobe in the initramfs: "rdma_rxe: failed to init crc32 algorithm err:-2"), then the rxe
# driver, user-space verbs and the RDMA connection manager, and the dummy netdev rxe runs on.
# Kept in $K/rdma-modules with their own dependencies (udp_tunnel also comes with the net set).
RDMA_MODULES="crc32_generic rdma_rxe ib_uverbs rdma_ucm dummy"
# The modules a Linux vNode's initramfs loads (images/linux/: virtio-mmio disks with ext4,
# virtio-net NICs; virtio_pci for the same image under QEMU, the network benchmarks' peer),
# kept apart in $K/guest-modules so that L1 does not load them.
GUEST_MODULES="virtio virtio_ring virtio_mmio virtio_blk crc32c_generic ext4 virtio_net \
virtio_pci"
# Modules L1 does not load at boot but a command may insmod from
# $BUILD/testbed/kernel/l1-extra-modules/ (their load order in "order"): nbd for the swap
# peer of the swap-peer bench.
L1_EXTRA_MODULES="nbd"
# Bump when the vmlinux extraction changes.
EXTRACT_VERSION=1

fresh() { # the ready stamp is younger than a day and than every script of the test bed
	[ -f "$READY" ] || return 1
	[ -n "$(find "$READY" -mmin -1440 2>/dev/null)" ] || return 1
	[ "$READY" -nt "$HERE/prepare.sh" ] && [ "$READY" -nt "$HERE/l1-init" ]
}
if [ "$if_needed" = 1 ] && fresh && [ -s "$T/l1-kernel" ] && [ -s "$T/l1-initramfs.cpio" ]; then
	exit 0
fi

say() { echo "testbed: $*" >&2; }
cached() { [ "$quiet" = 1 ] || say "$* (cached)"; }
die() {
	echo "prepare.sh: error: $*" >&2
	exit 1
}

mkdir -p "$T"
# One preparer at a time (several run-in-l1 may start together on a cold cache).
exec 9>"$T/.lock"
flock 9

# ---- 1. packages ----------------------------------------------------------------------
"$REPO/scripts/install-deps.sh" || die "scripts/install-deps.sh failed"
for tool in qemu-system-x86_64 busybox cpio xz zstd dpkg-deb strings readelf flock; do
	command -v "$tool" >/dev/null || die "'$tool' is missing after scripts/install-deps.sh"
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || BUSYBOX=$(command -v busybox)
readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'Requesting program interpreter' &&
	die "$BUSYBOX is not statically linked (install busybox-static)"
[ "$quiet" = 1 ] || say "packages: all installed"

# ---- 2. kernel package name -------------------------------------------------------------
resolve() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}
PKG=$(resolve)
if [ -z "$PKG" ]; then
	say "apt-cache knows no linux-image-amd64: running apt-get update"
	if [ "$(id -u)" -eq 0 ]; then apt-get update -qq >&2 || true; else sudo apt-get update -qq >&2 || true; fi
	PKG=$(resolve)
fi
if [ -z "$PKG" ]; then
	PKG=$(cat "$T/kernel-package" 2>/dev/null || true)
	[ -n "$PKG" ] || die "cannot resolve the Debian kernel package (apt-cache depends linux-image-amd64 gives nothing)"
	say "cannot resolve linux-image-amd64; using the cached $PKG"
fi
if [ "$(cat "$T/kernel-package" 2>/dev/null || true)" != "$PKG" ]; then
	say "kernel package $PKG"
else
	cached "kernel package $PKG"
fi

# ---- 3. download ------------------------------------------------------------------------
DEBS=$T/debs
mkdir -p "$DEBS"
deb=$(ls "$DEBS/${PKG}"_*_amd64.deb 2>/dev/null | tail -n 1 || true)
if [ -z "$deb" ]; then
	say "downloading $PKG (apt-get download)"
	dl=$(mktemp -d "$T/download.XXXXXX")
	# apt's download sandbox user must be able to write the directory.
	if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
	(cd "$dl" && apt-get download -q "$PKG" >"$dl.log" 2>&1) || true
	deb=$(ls "$dl/${PKG}"_*_amd64.deb 2>/dev/null | tail -n 1 || true)
	if [ -n "$deb" ]; then
		# Keep only the current kernel's package.
		rm -f "$DEBS"/*.deb
		mv "$deb" "$DEBS/"
		deb=$DEBS/$(basename "$deb")
	else
		cat "$dl.log" >&2
		deb=$(ls "$DEBS"/linux-image-*_amd64.deb 2>/dev/null | tail -n 1 || true)
		[ -n "$deb" ] || die "apt-get download $PKG failed (see above)"
		PKG=$(basename "$deb" | cut -d_ -f1)
		say "WARNING: cannot download the new kernel; keeping $(basename "$deb")"
	fi
	rm -rf "$dl" "$dl.log"
else
	cached "downloaded $(basename "$deb")"
fi

echo "$PKG" >"$T/kernel-package"
KVER=${PKG#linux-image-}

# ---- 4. unpack the bzImage and the modules -----------------------------------------------
K=$T/kernel
kstamp="$(basename "$deb") $WANT_MODULES net: $NET_MODULES rdma: $RDMA_MODULES guest: $GUEST_MODULES extra: $L1_EXTRA_MODULES nosig"
if [ "$(cat "$K/stamp" 2>/dev/null || true)" != "$kstamp" ]; then
	say "unpacking $(basename "$deb") (bzImage and modules)"
	x=$(mktemp -d "$T/unpack.XXXXXX")
	dpkg -x "$deb" "$x" || die "dpkg -x $deb failed"
	mdir=$x/lib/modules/$KVER/kernel
	[ -f "$x/boot/vmlinuz-$KVER" ] || die "no boot/vmlinuz-$KVER in $deb"
	[ -d "$mdir" ] || die "no lib/modules/$KVER in $deb"
	rm -rf "$K.new"
	mkdir -p "$K.new/modules"
	cp "$x/boot/vmlinuz-$KVER" "$K.new/vmlinuz"
	cp "$x/boot/config-$KVER" "$K.new/config" 2>/dev/null || true
	# Modules are copied without their appended signature: L1 then skips checking it (it
	# only notes "module verification failed" and taints), which saves ~0.2 s of TCG time.
	strip_signature() { # in out
		local size siglen b
		size=$(stat -c %s "$1")
		if [ "$size" -gt 40 ] && [ "$(tail -c 28 "$1")" = "~Module signature appended~" ]; then
			siglen=0
			for b in $(od -An -tu1 -j $((size - 28 - 4)) -N4 "$1"); do siglen=$((siglen * 256 + b)); done
			if [ $((siglen + 40)) -lt "$size" ]; then
				head -c $((size - 28 - 12 - siglen)) "$1" >"$2"
				return 0
			fi
		fi
		cp "$1" "$2"
	}
	# Resolve dependencies depth first from each module's depends= (the package has no
	# modules.dep), so that order lists every module after the ones it needs.
	declare -A seen=()
	order=()
	visit() { # module name (- and _ are the same); copies into $out
		local name=${1//-/_} f dep deps
		[ -n "${seen[$name]:-}" ] && return 0
		seen[$name]=1
		f=$(find "$mdir" \( -name "$name.ko" -o -name "${name//_/-}.ko" \) | head -n 1)
		[ -n "$f" ] || die "module $1 not found in $deb"
		deps=$(strings -a "$f" | sed -n 's/^depends=//p' | head -n 1)
		for dep in ${deps//,/ }; do visit "$dep"; done
		strip_signature "$f" "$out/$name.ko"
		order+=("$name")
	}
	out=$K.new/modules
	for m in $WANT_MODULES; do visit "$m"; done
	printf '%s\n' "${order[@]}" >"$out/order"
	base=("${order[@]}")
	# The net set: what WANT_MODULES already loads is not repeated (seen is kept).
	order=()
	out=$K.new/net-modules
	mkdir -p "$out"
	for m in $NET_MODULES; do visit "$m"; done
	printf '%s\n' "${order[@]}" >"$out/order"
	# The rdma set: independent of the net set (both may be loaded, or either alone).
	seen=()
	for m in "${base[@]}"; do seen[$m]=1; done
	order=()
	out=$K.new/rdma-modules
	mkdir -p "$out"
	for m in $RDMA_MODULES; do visit "$m"; done
	printf '%s\n' "${order[@]}" >"$out/order"
	seen=()
	order=()
	out=$K.new/guest-modules
	mkdir -p "$out"
	for m in $GUEST_MODULES; do visit "$m"; done
	printf '%s\n' "${order[@]}" >"$out/order"
	seen=()
	order=()
	out=$K.new/l1-extra-modules
	mkdir -p "$out"
	for m in $L1_EXTRA_MODULES; do visit "$m"; done
	printf '%s\n' "${order[@]}" >"$out/order"
	echo "$kstamp" >"$K.new/stamp"
	rm -rf "$K" "$x"
	mv "$K.new" "$K"
else
	cached "unpacked kernel $KVER ($(wc -l <"$K/modules/order") modules)"
fi

# ---- 5. ELF vmlinux from the bzImage ------------------------------------------------------
# The bzImage's setup header gives the compressed payload: offset (setup_sects + 1) * 512 +
# payload_offset (0x248), length payload_length (0x24c). Debian's 6.1 kernels use xz; the
# decompressor is chosen from the payload's magic, and the whole image is searched for a
# known magic if the header looks wrong.
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
magic_tool() { # hex of the first 6 bytes -> decompressor command
	case $1 in
	fd377a585a00*) echo "xz -dc --single-stream" ;;
	28b52ffd*) echo "zstd -dcq" ;;
	1f8b08*) echo "gzip -dc" ;;
	425a68*) echo "bzip2 -dc" ;;
	5d0000*) echo "xz -dc --format=lzma" ;;
	894c5a*) echo "lzop -dc" ;;
	02214c18*) echo "lz4 -dc" ;;
	*) return 1 ;;
	esac
}
is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; }
extract_vmlinux() { # bzImage out
	local img=$1 out=$2 off len hdr tool
	if [ "$(head -c 4 <(tail -c +$((0x202 + 1)) "$img"))" = HdrS ]; then
		off=$((($(u8 "$img" $((0x1f1))) + 1) * 512 + $(u32 "$img" $((0x248)))))
		len=$(u32 "$img" $((0x24c)))
		hdr=$(tail -c +$((off + 1)) "$img" | head -c 6 | od -An -tx1 | tr -d ' \n' || true)
		if tool=$(magic_tool "$hdr"); then
			tail -c +$((off + 1)) "$img" | head -c "$len" | $tool >"$out" 2>/dev/null || true
			is_elf "$out" && return 0
		fi
	fi
	# Fallback: try every xz, zstd and gzip magic in the image.
	for hdr in fd377a585a00 28b52ffd 1f8b0800; do
		tool=$(magic_tool "$hdr")
		for off in $(LC_ALL=C grep -obUaP "$(echo "$hdr" | sed 's/../\\x&/g')" "$img" | cut -d: -f1); do
			tail -c +$((off + 1)) "$img" | $tool >"$out" 2>/dev/null || true
			is_elf "$out" && return 0
		done
	done
	return 1
}
vstamp="$(cat "$K/stamp") extract=$EXTRACT_VERSION"
if [ "$(cat "$T/l1-kernel.stamp" 2>/dev/null || true)" != "$vstamp" ] || [ ! -s "$T/l1-kernel" ]; then
	rm -f "$T/l1-kernel.stamp"
	if extract_vmlinux "$K/vmlinuz" "$T/l1-kernel.tmp"; then
		say "extracted the ELF vmlinux ($(($(stat -c %s "$T/l1-kernel.tmp") / 1048576)) MiB) from the bzImage"
	else
		cp "$K/vmlinuz" "$T/l1-kernel.tmp"
		say "WARNING: could not extract an ELF vmlinux; L1 boots the bzImage (~4 s slower)"
	fi
	mv "$T/l1-kernel.tmp" "$T/l1-kernel"
	echo "$vstamp" >"$T/l1-kernel.stamp"
else
	if is_elf "$T/l1-kernel"; then cached "ELF vmlinux"; else cached "bzImage (no ELF vmlinux)"; fi
fi

# ---- 6. initramfs -------------------------------------------------------------------------
istamp="$(cat "$K/stamp") $(sha256sum <"$HERE/l1-init" | cut -c1-16) \
$(stat -c '%s %Y' "$BUSYBOX")"
if [ "$(cat "$T/l1-initramfs.stamp" 2>/dev/null || true)" != "$istamp" ] || [ ! -s "$T/l1-initramfs.cpio" ]; then
	rm -f "$T/l1-initramfs.stamp"
	s=$(mktemp -d "$T/initramfs.XXXXXX")
	mkdir -p "$s/bin" "$s/dev" "$s/proc" "$s/sys" "$s/host" "$s/tmp" "$s/lib/modules"
	cp "$BUSYBOX" "$s/bin/busybox"
	for a in $("$s/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$s/bin/$a"
	done
	cp "$HERE/l1-init" "$s/init"
	chmod 755 "$s/init"
	cp "$K/modules/"*.ko "$K/modules/order" "$s/lib/modules/"
	mkdir -p "$s/lib/modules/net"
	cp "$K/net-modules/"*.ko "$K/net-modules/order" "$s/lib/modules/net/"
	mkdir -p "$s/lib/modules/rdma"
	cp "$K/rdma-modules/"*.ko "$K/rdma-modules/order" "$s/lib/modules/rdma/"
	(cd "$s" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible >"$T/l1-initramfs.cpio.tmp") ||
		die "cpio failed"
	mv "$T/l1-initramfs.cpio.tmp" "$T/l1-initramfs.cpio"
	rm -rf "$s"
	echo "$istamp" >"$T/l1-initramfs.stamp"
	say "built the initramfs ($(($(stat -c %s "$T/l1-initramfs.cpio") / 1024)) KiB, uncompressed newc): busybox, l1-init, $(wc -l <"$K/modules/order") modules"
else
	cached "initramfs"
fi

mkdir -p "$T/runs"
touch "$READY"
[ "$quiet" = 1 ] || say "ready: $T/l1-kernel + $T/l1-initramfs.cpio"
