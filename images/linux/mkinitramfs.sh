#!/usr/bin/env bash
# mkinitramfs.sh: the Linux guest's initramfs: busybox-static, lego's init, kernel modules, the check programs.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: images/linux/mkinitramfs.sh OUT INIT MODULE_DIR PROGRAM...

Builds OUT, an uncompressed newc cpio (the kernel unpacks it fastest): /init (INIT),
/bin/busybox with a link per applet, MODULE_DIR's *.ko and its "order" file in /lib/modules
(the init loads them in that order), and each PROGRAM (a static executable, or a script) in
/bin. busybox comes from
busybox-static (/bin/busybox, or $BUSYBOX); it must be statically linked.
USAGE
}
[ "${1:-}" = -h ] || [ "${1:-}" = --help ] && { usage; exit 0; }
[ $# -ge 3 ] || { usage >&2; exit 64; }
out=$1 init=$2 mods=$3
shift 3
busybox=${BUSYBOX:-/bin/busybox}
die() { echo "mkinitramfs.sh: error: $*" >&2; exit 1; }
[ -x "$busybox" ] || die "no $busybox (install busybox-static)"
readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter' &&
	die "$busybox is not statically linked (install busybox-static)"
[ -f "$init" ] || die "no init script $init"
[ -f "$mods/order" ] || die "no $mods/order (tests/testbed/prepare.sh extracts the modules)"

s=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
trap 'rm -rf "$s"' EXIT
mkdir -p "$s/bin" "$s/dev" "$s/proc" "$s/sys" "$s/mnt" "$s/tmp" "$s/lib/modules"
cp "$busybox" "$s/bin/busybox"
for a in $("$s/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$s/bin/$a"
done
cp "$init" "$s/init"
chmod 755 "$s/init"
while read -r m; do
	cp "$mods/$m.ko" "$s/lib/modules/" || die "module $m listed in $mods/order is missing"
done <"$mods/order"
cp "$mods/order" "$s/lib/modules/"
for p in "$@"; do
	readelf -l "$p" 2>/dev/null | grep -q 'Requesting program interpreter' &&
		die "$p is not statically linked"
	cp "$p" "$s/bin/"
done
(cd "$s" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) >"$out.tmp" || die "cpio failed"
mv "$out.tmp" "$out"
