#!/usr/bin/env bash
# qemu-migrate.sh: the peer of the migration benchmark: QEMU's own pre-copy live migration of a
# Linux guest whose RAM is filled with non-zero, non-random data, timed by query-migrate.
#
# For each size, one after the other (a source and a destination of N GiB each must fit in
# memory together): boot a source QEMU (TCG) with the test bed's Debian kernel and an initramfs
# whose /init (tests/bench/qemu-guest/fill.c) fills the guest's free RAM and idles; start a
# destination QEMU with -incoming defer; migrate over loopback TCP through QMP
# (tests/bench/qmp_migrate.py); check that the destination runs and that every page of the
# fill arrived intact; print one line of figures on stdout.
#
# On a machine that is itself a VM, first-touch page faults can dominate: the destination
# faults in all the RAM it receives, during the migration. --dst-prealloc takes that part out.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: tests/bench/qemu-migrate.sh [--work DIR] [--no-verify] [--dst-prealloc] SIZE_GIB...
       e.g. tests/bench/qemu-migrate.sh 1 2 4 8

Measures QEMU's pre-copy live migration (qemu-system-x86_64 -accel tcg, loopback TCP, QMP)
of a Linux guest of SIZE_GIB GiB of RAM whose free memory is filled with a non-zero,
non-random pattern, for each size in turn. For each size it prints on stdout:

  qemu_migrate size_gib=N total_ms=T downtime_ms=D ram_transferred_mib=X filled_mib=F setup_ms=S

from the source's query-migrate once the migration is "completed": total-time, downtime,
ram.transferred (MiB, one decimal) and setup-time; F is the MiB the guest filled. Progress
and the time of each stage go to stderr.

QEMU runs with max-bandwidth raised to 100 GiB/s (QEMU's default of 128 MiB/s would throttle
it) and QEMU's default downtime-limit (300 ms); no other migration capability is enabled.
After each migration the destination must be "running" and, unless --no-verify, its guest
re-reads the whole fill and must find every word intact.

  --work DIR   keep the QMP sockets, console logs and QEMU logs in DIR (created; a
               subdirectory per size). Default: a temporary directory, removed on success
               and kept (and named on stderr) on failure
  --no-verify  skip re-reading the fill on the destination
  --dst-prealloc
               start the destination with -mem-prealloc: its guest RAM is allocated and
               touched before the migration starts, so total_ms leaves out the
               destination's page faults (dear on a machine that is itself a VM); the
               result line then ends with " dst_prealloc=1". Default: off, as QEMU runs
               unless told otherwise
  -h, --help   this text

Needs for each size about 2 x SIZE_GIB GiB of available memory; refuses to start a size
otherwise. The kernel comes from tests/testbed/prepare.sh ($BUILD/testbed/l1-kernel); the
guest's initramfs is built, and cached, in $BUILD/bench/qemu-migrate/ (BUILD defaults to
build/ in the repository). Exit status: 0 if every size migrated, 1 on a failure, 64 for a
bad command line.
EOF
}

me="qemu-migrate"
die_usage() {
	echo "$me: $* (see --help)" >&2
	exit 64
}

work=
verify=1
dst_extra=()
sizes=()
while [ $# -gt 0 ]; do
	case $1 in
	--work)
		[ $# -ge 2 ] || die_usage "--work needs a directory"
		work=$2
		shift 2
		;;
	--work=*)
		work=${1#*=}
		shift
		;;
	--no-verify) verify=0 && shift ;;
	--dst-prealloc) dst_extra=(-mem-prealloc) && shift ;;
	-h | --help)
		usage
		exit 0
		;;
	-*) die_usage "unknown option '$1'" ;;
	*)
		if ! [[ $1 =~ ^[1-9][0-9]{0,3}$ ]] || [ "$1" -gt 1024 ]; then
			die_usage "size '$1' is not a whole number of GiB from 1 to 1024"
		fi
		sizes+=("$1")
		shift
		;;
	esac
done
[ ${#sizes[@]} -gt 0 ] || die_usage "no size given"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
export BUILD
OUT=$BUILD/bench/qemu-migrate
PY=/usr/bin/python3 # Debian's (scripts/debian-packages.txt), not a slower-starting pyenv shim

say() { echo "$me: $*" >&2; }
die() {
	echo "$me: error: $*" >&2
	exit 1
}
now_ms() { date +%s%3N; }
secs() { # milliseconds -> seconds with one decimal
	printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100))
}

# ---- QEMU processes: killed and reaped on every way out ----------------------------------
pids=()
helper_pid=
run_dir=
tmp_work=
stop_qemus() {
	local p
	for p in ${pids[@]+"${pids[@]}"}; do
		kill "$p" 2>/dev/null || true
	done
	for p in ${pids[@]+"${pids[@]}"}; do
		# QEMU quits at once on SIGTERM; give it 5 s before SIGKILL.
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}
on_exit() {
	local rc=$?
	[ -z "$helper_pid" ] || kill "$helper_pid" 2>/dev/null || true
	stop_qemus
	if [ -n "$tmp_work" ]; then
		if [ "$rc" = 0 ]; then
			rm -rf "$tmp_work"
		else
			say "logs kept in $tmp_work"
		fi
	elif [ "$rc" != 0 ] && [ -n "$run_dir" ]; then
		say "logs in $run_dir"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. packages and the kernel --------------------------------------------------------------
"$REPO/scripts/install-deps.sh" || die "scripts/install-deps.sh failed"
for tool in qemu-system-x86_64 gcc cpio flock sha256sum "$PY"; do
	command -v "$tool" >/dev/null || die "'$tool' is missing after scripts/install-deps.sh"
done
# The test bed's kernel: Debian's linux-image-amd64 kernel as an ELF vmlinux (booted via PVH).
"$REPO/tests/testbed/prepare.sh" --if-needed --quiet || die "tests/testbed/prepare.sh failed"
KERNEL=$BUILD/testbed/l1-kernel
[ -s "$KERNEL" ] || die "no kernel at $KERNEL after tests/testbed/prepare.sh"

# ---- 2. the guest's initramfs: /init = fill.c, built static; cached --------------------------
SRC=$HERE/qemu-guest/fill.c
CFLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror -static"
mkdir -p "$OUT"
# One run at a time: two would build the initramfs together and, worse, need their memory
# at once. The lock is held until the script ends.
exec 9>"$OUT/.lock"
if ! flock -n 9; then
	say "waiting for another qemu-migrate.sh run to finish"
	flock 9
fi
stamp="$(sha256sum <"$SRC" | cut -c1-16) $(gcc --version | head -n 1) $CFLAGS newc-1"
if [ "$(cat "$OUT/initramfs.stamp" 2>/dev/null || true)" != "$stamp" ] || [ ! -s "$OUT/initramfs.cpio" ]; then
	rm -f "$OUT/initramfs.stamp"
	# shellcheck disable=SC2086 # CFLAGS is a list of words
	gcc $CFLAGS -o "$OUT/init" "$SRC" || die "cannot build $SRC"
	s=$(mktemp -d "$OUT/initramfs.XXXXXX")
	mkdir "$s/dev"
	cp "$OUT/init" "$s/init"
	chmod 755 "$s/init"
	(cd "$s" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible >"$OUT/initramfs.cpio.tmp") ||
		die "cpio failed"
	rm -rf "$s"
	mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio"
	echo "$stamp" >"$OUT/initramfs.stamp"
	say "built the guest's initramfs $OUT/initramfs.cpio ($(($(stat -c %s "$OUT/initramfs.cpio") / 1024)) KiB)"
fi
INITRD=$OUT/initramfs.cpio

# ---- 3. the work directory --------------------------------------------------------------------
if [ -n "$work" ]; then
	mkdir -p "$work" || die "cannot create --work '$work'"
	work=$(cd "$work" && pwd)
else
	tmp_work=$(mktemp -d "${TMPDIR:-/tmp}/qemu-migrate.XXXXXX")
	work=$tmp_work
fi
# A UNIX socket path has at most 107 bytes.
[ ${#work} -le 80 ] || die "the work directory '$work' is too long for QMP socket paths; give a shorter --work"

# ---- 4. one size ---------------------------------------------------------------------------
mem_available_mib() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

# wait_console LOG PID REGEX TIMEOUT_S WHAT: wait for a line matching REGEX in LOG; sets LINE.
# (Long waits run in this shell, not in $(...): bash runs a signal's trap only once the
# command in the foreground is over.)
LINE=
wait_console() {
	local log=$1 pid=$2 re=$3 timeout=$4 what=$5 deadline
	deadline=$(($(now_ms) + timeout * 1000))
	while :; do
		LINE=$(tr -d '\r' <"$log" | grep -a -E -m 1 "$re" || true)
		[ -z "$LINE" ] || return 0
		kill -0 "$pid" 2>/dev/null || die "QEMU exited before $what; console: $(tr -d '\r' <"$log" | tail -n 5 | tr '\n' ' ')"
		[ "$(now_ms)" -lt "$deadline" ] || die "no $what after $timeout s; console: $(tr -d '\r' <"$log" | tail -n 5 | tr '\n' ' ')"
		sleep 0.1
	done
}

run_size() {
	local n=$1 need avail others t0 t_filled t_migrated t_verified filled guest_says figures qrun
	local -a qemu
	run_dir=$work/${n}g
	rm -rf "$run_dir"
	mkdir -p "$run_dir"

	# Source and destination each end up with the whole guest RAM resident, plus QEMU itself.
	need=$((n * 2048 + 768))
	avail=$(mem_available_mib)
	[ "$avail" -ge "$need" ] ||
		die "$n GiB: needs about $need MiB of available memory (source + destination); MemAvailable is $avail MiB"
	# Ours are all stopped here: any QEMU running now is someone else's, sharing the CPUs.
	others=$(pgrep -c -x qemu-system-x86 || true)
	[ "${others:-0}" = 0 ] ||
		say "$n GiB: WARNING: $others other QEMU process(es) running; they compete for the CPUs and disturb the figures"

	# The same machine on both sides. q35 boots this kernel a little faster than pc here;
	# -nodefaults leaves out the NIC, VGA and the like (nothing listens anywhere); the serial
	# port is the console, on QEMU's stdio. The default CPU model (qemu64) is kept: the fill
	# is bound by first-touch page faults, not by the CPU model.
	# shellcheck disable=SC2054 # commas inside QEMU's option values
	qemu=(qemu-system-x86_64 -accel tcg -machine q35 -m "${n}G" -smp 1
		-nodefaults -nographic -serial stdio -no-reboot
		-kernel "$KERNEL" -initrd "$INITRD"
		-append "console=ttyS0 rdinit=/init panic=-1 quiet loglevel=4 mitigations=off")

	t0=$(now_ms)
	say "$n GiB: booting the source and starting the destination (-incoming defer)"
	"${qemu[@]}" -qmp "unix:$run_dir/src.qmp,server=on,wait=off" \
		</dev/null >"$run_dir/src-console.log" 2>"$run_dir/src-qemu.log" &
	pids+=("$!")
	local src_pid=$!
	# The destination's console input is a FIFO, so that "verify" can be typed into its guest.
	mkfifo "$run_dir/dst-console.in"
	exec 8<>"$run_dir/dst-console.in"
	"${qemu[@]}" ${dst_extra[@]+"${dst_extra[@]}"} -incoming defer \
		-qmp "unix:$run_dir/dst.qmp,server=on,wait=off" \
		<&8 >"$run_dir/dst-console.log" 2>"$run_dir/dst-qemu.log" &
	pids+=("$!")
	local dst_pid=$!

	wait_console "$run_dir/src-console.log" "$src_pid" '^(FILLED [0-9]+|FILL-ERROR)' \
		$((60 + 20 * n)) "the guest's FILLED line"
	case $LINE in FILL-ERROR*) die "$n GiB: the guest failed: $LINE" ;; esac
	filled=${LINE#FILLED }
	t_filled=$(now_ms)
	guest_says=$(tr -d '\r' <"$run_dir/src-console.log" |
		grep -a -o 'filled [0-9]* MiB of [0-9]* MiB available in [0-9]* ms' | head -n 1)
	say "$n GiB: booted and filled $filled MiB in $(secs $((t_filled - t0))) s ($guest_says); migrating"
	kill -0 "$dst_pid" 2>/dev/null || die "the destination QEMU exited: $(tail -n 3 "$run_dir/dst-qemu.log" | tr '\n' ' ')"

	# In the background and waited for, so that a signal's trap runs at once.
	"$PY" "$HERE/qmp_migrate.py" --src "$run_dir/src.qmp" --dst "$run_dir/dst.qmp" \
		--timeout $((60 + 30 * n)) >"$run_dir/figures" &
	helper_pid=$!
	qrun=0
	wait "$helper_pid" || qrun=$?
	helper_pid=
	[ "$qrun" = 0 ] || die "$n GiB: the migration failed (see above)"
	figures=$(cat "$run_dir/figures")
	t_migrated=$(now_ms)
	say "$n GiB: migrated in $(secs $((t_migrated - t_filled))) s of wall time; the destination runs"

	# The source has nothing left to do; free its memory before the destination verifies.
	kill "$src_pid" 2>/dev/null || true
	wait "$src_pid" 2>/dev/null || true

	if [ "$verify" = 1 ]; then
		echo verify >&8
		wait_console "$run_dir/dst-console.log" "$dst_pid" '^(VERIFIED|VERIFY-FAILED)' \
			$((30 + 15 * n)) "answer to 'verify' from the destination's guest"
		case $LINE in
		"VERIFIED $filled "*) ;;
		*) die "$n GiB: the destination's guest found the fill damaged: $LINE (filled $filled MiB)" ;;
		esac
		t_verified=$(now_ms)
		say "$n GiB: the destination's guest re-read all $filled MiB intact in $(secs $((t_verified - t_migrated))) s"
	else
		t_verified=$t_migrated
	fi
	stop_qemus
	exec 8>&-
	say "$n GiB: done in $(secs $(($(now_ms) - t0))) s (boot+fill $(secs $((t_filled - t0)))," \
		"migration $(secs $((t_migrated - t_filled))), verify $(secs $((t_verified - t_migrated))))"

	# figures: total_ms=T downtime_ms=D setup_ms=S ram_transferred_mib=X ram_total_mib=Y
	local total downtime setup transferred f
	for f in $figures; do
		case $f in
		total_ms=*) total=${f#*=} ;;
		downtime_ms=*) downtime=${f#*=} ;;
		setup_ms=*) setup=${f#*=} ;;
		ram_transferred_mib=*) transferred=${f#*=} ;;
		esac
	done
	if [ -z "${total:-}" ] || [ -z "${downtime:-}" ] || [ -z "${setup:-}" ] || [ -z "${transferred:-}" ]; then
		die "$n GiB: incomplete figures from qmp_migrate.py: '$figures'"
	fi
	echo "qemu_migrate size_gib=$n total_ms=$total downtime_ms=$downtime" \
		"ram_transferred_mib=$transferred filled_mib=$filled setup_ms=$setup${dst_extra[0]:+ dst_prealloc=1}"
}

for n in "${sizes[@]}"; do
	run_size "$n"
done
run_dir=
