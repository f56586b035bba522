#!/bin/sh
# install.sh: what `make install` runs: the programs, the guest images and the systemd units
# with their options files, under DESTDIR (a staging root for packaging; default /).
#
#   BUILD=build PREFIX=/usr/local DESTDIR= scripts/install.sh
#
# PREFIX/bin             lego-controld lego-pmon lego-mmon lego-smon lego-vmm legoctl
# PREFIX/share/lego/images  lego-guest.elf, and linux/ (vmlinux, bzImage, initramfs.cpio,
#                        root.ext4) once `make linux-image` has made it
# UNITDIR                lego-controld, lego-pmon, lego-mmon, lego-smon .service
#                        (default PREFIX/lib/systemd/system)
# SYSCONFDIR/lego        controld.conf pmon.conf mmon.conf smon.conf (default /etc): an
#                        options file already there is kept, the new one written beside it
#                        as NAME.conf.new
# BINDIR, DATADIR and UNITDIR may be given too. The units name BINDIR and SYSCONFDIR as they
# will be on the target (without DESTDIR).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-$PREFIX/bin}
DATADIR=${DATADIR:-$PREFIX/share}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
programs="lego-controld lego-pmon lego-mmon lego-smon lego-vmm legoctl"
daemons="controld pmon mmon smon"
linux="vmlinux bzImage initramfs.cpio root.ext4"

for d in "$BINDIR" "$DATADIR" "$SYSCONFDIR" "$UNITDIR"; do
	case $d in
	/*) ;;
	*) echo "install.sh: '$d' is not an absolute path" >&2 && exit 64 ;;
	esac
done
for p in $programs; do
	[ -x "$BUILD/release/bin/$p" ] || { echo "install.sh: $BUILD/release/bin/$p is missing (make programs)" >&2; exit 1; }
done
[ -s "$BUILD/images/lego-guest.elf" ] || { echo "install.sh: $BUILD/images/lego-guest.elf is missing (make images)" >&2; exit 1; }

put() { # mode source destination
	install -D -m "$1" "$2" "$DESTDIR$3"
	echo "  $3"
}

echo "install: programs, guest images, systemd units and options files under ${DESTDIR:-/}"
for p in $programs; do
	put 0755 "$BUILD/release/bin/$p" "$BINDIR/$p"
done
put 0644 "$BUILD/images/lego-guest.elf" "$DATADIR/lego/images/lego-guest.elf"
if [ -s "$BUILD/images/linux/vmlinux" ]; then
	for f in $linux; do
		put 0644 "$BUILD/images/linux/$f" "$DATADIR/lego/images/linux/$f"
	done
else
	echo "  (no Linux guest image: make linux-image, then install again, to install it)"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in $daemons; do
	sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" \
		"$here/dist/systemd/lego-$d.service.in" >"$tmp/lego-$d.service"
	put 0644 "$tmp/lego-$d.service" "$UNITDIR/lego-$d.service"
done
for d in $daemons; do
	conf=$SYSCONFDIR/lego/$d.conf
	if [ -e "$DESTDIR$conf" ] && ! cmp -s "$here/dist/etc/$d.conf" "$DESTDIR$conf"; then
		put 0644 "$here/dist/etc/$d.conf" "$conf.new"
		echo "    ($conf is yours and stays; the installed default is beside it)"
	else
		put 0644 "$here/dist/etc/$d.conf" "$conf"
	fi
done
echo "install: done. Then: systemctl daemon-reload; the cluster's PKI in /etc/lego/pki"
echo "  (legoctl pki init, legoctl pki issue); systemctl enable --now lego-controld ..."
