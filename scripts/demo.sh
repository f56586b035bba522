#!/usr/bin/env bash
# demo.sh: make demo: boot one vNode whose RAM lives on two memory servers and whose disk is a
# volume on a storage server (a zipfian memtest over 40 MiB and blktest on 2 vCPUs, ExCache a
# quarter of its RAM), explain what happened.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
export BUILD
. "$REPO/tests/lib/kvm.sh"

if [ "${LEGO_IN_TESTBED:-0}" != 1 ]; then
	echo "== lego demo: one vNode booted by lego-vmm, its memory on two lego-mmon servers,"
	echo "   its disk on a lego-smon storage server"
	if ! kvm_usable || ! kvm_hw; then
		echo "   This machine has no usable hardware KVM (no VT-x/AMD-V; a PVM /dev/kvm would"
		echo "   run the guest under instruction emulation)."
		echo "   The demo runs inside the nested test bed: Linux under QEMU's TCG emulator with"
		echo "   kvm-amd, so lego-vmm gets a real KVM there (slow, but the same code path)."
	fi
fi
kvm_require "$0" "$@"

VMM=$BUILD/release/bin/lego-vmm
MMON=$BUILD/release/bin/lego-mmon
SMON=$BUILD/release/bin/lego-smon
CTL=$BUILD/release/bin/legoctl
GUEST=$BUILD/images/lego-guest.elf
work=$BUILD/demo
mkdir -p "$work"
rm -rf "$work/volumes" "$work"/*.port

# Two memory servers on loopback, each picking a free port.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for m in mm1 mm2; do
	echo "== lego-mmon --name $m --pool 512M --listen 127.0.0.1:0"
	"$MMON" --name $m --pool 512M --listen 127.0.0.1:0 --port-file "$work/$m.port" \
		2>"$work/$m.log" &
	pids+=($!)
done
echo "== lego-smon --name st1 --dir $work/volumes --listen 127.0.0.1:0"
"$SMON" --name st1 --dir "$work/volumes" --listen 127.0.0.1:0 --port-file "$work/st1.port" \
	2>"$work/st1.log" &
pids+=($!)
for _ in $(seq 100); do
	[ -s "$work/mm1.port" ] && [ -s "$work/mm2.port" ] && [ -s "$work/st1.port" ] && break
	sleep 0.1
done
echo "== legoctl volume create demo-disk 64M"
"$CTL" --smon "127.0.0.1:$(cat "$work/st1.port")" volume create demo-disk 64M

args=(--kernel "$GUEST" --mem 64M --cpus 2 --disk "smon://127.0.0.1:$(cat "$work/st1.port")/demo-disk"
	--stats "$work/stats.json"
	--mmon "127.0.0.1:$(cat "$work/mm1.port")" --mmon "127.0.0.1:$(cat "$work/mm2.port")"
	--region-size 16M --cache 16M
	--append "run=memtest,blktest memtest.mode=zipf memtest.size=40M memtest.ops=40000 blktest.size=4M")
echo "== lego-vmm ${args[*]}"
echo "-- guest console --"
set +e
"$VMM" "${args[@]}" 2>"$work/vmm.log" | tee "$work/console.log"
status=${PIPESTATUS[0]}
set -e
echo "-- lego-vmm log --"
cat "$work/vmm.log"
kill -TERM "${pids[@]}"
wait "${pids[@]}" 2>/dev/null || true
echo "-- memory and storage server logs --"
cat "$work/mm1.log" "$work/mm2.log" "$work/st1.log"
echo "-- what happened --"
echo "guest image:      $GUEST ($(stat -c %s "$GUEST") bytes, entered directly in 64-bit mode)"
echo "vNode:            2 vCPUs, 64 MiB RAM in 4 vRegions on 2 memory servers, ExCache 16 MiB,"
echo "                  virtio-blk disk: volume demo-disk (64 MiB) on storage server st1, a sparse"
echo "                  file in $work/volumes ($(du -k "$work/volumes/demo-disk" | cut -f1) KiB written)"
grep '^RESULT' "$work/console.log" | sed 's/^/guest result:     /' || true
if [ -s "$work/stats.json" ]; then
	/usr/bin/python3 - "$work/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"run time:         {s['run_ms']:.0f} ms, {s['exits_io']} port-I/O and {s['exits_mmio']} MMIO exits")
print(f"memory:           VMM RSS {s['rss_kib'] / 1024:.1f} MiB, of which resident guest RAM {s['guest_resident_kib'] / 1024:.1f} MiB")
p = s.get("pager")
if p:
    mib = 1024 * 1024
    print(f"remote memory:    {p['faults']} page faults served; {p['pages_fetched']} pages fetched from the servers in {p['remote_fetches']} requests,")
    print(f"                  {p['zero_fills']} never-written pages zero-filled locally, {p['evictions']} evictions, {p['writebacks']} pages written back")
    print(f"                  ({p['bytes_in'] / mib:.1f} MiB in, {p['bytes_out'] / mib:.1f} MiB out); fault service p50 {p['fault_p50_us']:.0f} us, p99 {p['fault_p99_us']:.0f} us")
    print(f"                  resident at exit: {p['resident_pages']} pages of an ExCache of {p['cache_pages']}")
PY
fi
echo "exit status:      $status (the value the guest wrote to its debug-exit port)"
exit "$status"
