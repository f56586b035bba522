#!/usr/bin/env bash
# demo.sh: make demo: boot one vNode (memtest + blktest on 2 vCPUs) and explain what happened.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
export BUILD
. "$REPO/tests/lib/kvm.sh"

if [ "${LEGO_IN_TESTBED:-0}" != 1 ]; then
	echo "== lego demo: one vNode booted by lego-vmm"
	if ! kvm_usable; then
		echo "   This machine has no usable /dev/kvm (no VT-x/AMD-V, or a PVM guest kernel)."
		echo "   The demo runs inside the nested test bed: Linux under QEMU's TCG emulator with"
		echo "   kvm-amd, so lego-vmm gets a real KVM there (slow, but the same code path)."
	fi
fi
kvm_require "$0" "$@"

VMM=$BUILD/release/bin/lego-vmm
GUEST=$BUILD/images/lego-guest.elf
work=$BUILD/demo
mkdir -p "$work"
rm -f "$work/disk.img"
truncate -s 64M "$work/disk.img"

args=(--kernel "$GUEST" --mem 256M --cpus 2 --disk "$work/disk.img" --stats "$work/stats.json"
	--append "run=memtest,blktest memtest.size=32M blktest.size=4M")
echo "== lego-vmm ${args[*]}"
echo "-- guest console --"
set +e
"$VMM" "${args[@]}" 2>"$work/vmm.log" | tee "$work/console.log"
status=${PIPESTATUS[0]}
set -e
echo "-- lego-vmm log --"
cat "$work/vmm.log"
echo "-- what happened --"
echo "guest image:      $GUEST ($(stat -c %s "$GUEST") bytes, entered directly in 64-bit mode)"
echo "vNode:            2 vCPUs, 256 MiB RAM, virtio-blk disk $work/disk.img (64 MiB)"
grep '^RESULT' "$work/console.log" | sed 's/^/guest result:     /' || true
if [ -s "$work/stats.json" ]; then
	/usr/bin/python3 - "$work/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"run time:         {s['run_ms']:.0f} ms, {s['exits_io']} port-I/O and {s['exits_mmio']} MMIO exits")
print(f"memory:           VMM RSS {s['rss_kib'] / 1024:.1f} MiB, of which guest RAM touched {s['guest_resident_kib'] / 1024:.1f} MiB")
PY
fi
echo "exit status:      $status (the value the guest wrote to its debug-exit port)"
exit "$status"
