#!/usr/bin/env bash
# mkrootdisk.sh: an ext4 disk image made from a directory (mkfs.ext4 -d), with a /MANIFEST of every file for the guest to verify.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: images/linux/mkrootdisk.sh [--size MiB] OUT BLKCHECK DIR...

Copies every DIR's contents (in order: later ones win) into a fresh tree, writes /MANIFEST
(lego-blkcheck --manifest-make: hash, size and path of every regular file) and makes OUT,
an ext4 image of --size MiB (default: the tree's size plus half, at least 32) holding the
tree, with mkfs.ext4 -d (e2fsprogs). BLKCHECK is the lego-blkcheck program (it runs here).
The Linux guest's init mounts such a disk given as root=/dev/vdX and verifies /MANIFEST.
USAGE
}
size=
case ${1:-} in
-h | --help) usage; exit 0 ;;
--size) size=$2; shift 2 ;;
esac
[ $# -ge 3 ] || { usage >&2; exit 64; }
out=$1 blkcheck=$2
shift 2
die() { echo "mkrootdisk.sh: error: $*" >&2; exit 1; }
command -v mkfs.ext4 >/dev/null || die "no mkfs.ext4 (install e2fsprogs)"
[ -x "$blkcheck" ] || die "no $blkcheck"

s=$(mktemp -d "${out%/*}/rootdisk.XXXXXX")
trap 'rm -rf "$s"' EXIT
for d in "$@"; do
	[ -d "$d" ] || die "$d is not a directory"
	cp -a "$d/." "$s/"
done
rm -f "$s/MANIFEST"
"$blkcheck" --manifest-make "$s" >"$out.manifest" || die "lego-blkcheck --manifest-make failed"
mv "$out.manifest" "$s/MANIFEST"
if [ -z "$size" ]; then
	used=$(du -sm "$s" | cut -f1)
	size=$((used + used / 2 + 16))
	[ "$size" -ge 32 ] || size=32
fi
[[ $size =~ ^[0-9]+$ ]] || die "--size '$size' is not a number of MiB"
rm -f "$out.tmp"
truncate -s "${size}M" "$out.tmp" # an existing file: mke2fs then says nothing about making one
mkfs.ext4 -q -F -L lego-root -d "$s" "$out.tmp" "${size}M" || die "mkfs.ext4 -d failed"
mv "$out.tmp" "$out"
