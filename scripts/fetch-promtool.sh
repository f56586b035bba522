#!/bin/sh
# fetch-promtool.sh OUT: promtool (the tests' checker of lego-controld's metrics page) at OUT,
# taken from Debian's prometheus package without installing it: installing it would also
# start the Prometheus server (port 9090, every address) on a machine whose init is systemd.
set -eu
out=$1
[ -x "$out" ] && exit 0
dir=$(dirname "$out")
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
dl=$(mktemp -d "$dir/download.XXXXXX")
trap 'rm -rf "$dl"' EXIT
# apt's download sandbox user must be able to write the directory.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
echo "fetch-promtool: apt-get download prometheus (for promtool only)" >&2
if ! (cd "$dl" && apt-get download -q prometheus >"$dl/log" 2>&1); then
	# The package lists may be missing on a fresh machine.
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
	$sudo apt-get update -qq
	(cd "$dl" && apt-get download -q prometheus >"$dl/log" 2>&1) || {
		cat "$dl/log" >&2
		echo "fetch-promtool: error: cannot download Debian's prometheus package" >&2
		exit 1
	}
fi
deb=$(ls "$dl"/prometheus_*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/promtool >"$dl/promtool"
chmod 0755 "$dl/promtool"
"$dl/promtool" --version >/dev/null
mv "$dl/promtool" "$out"
