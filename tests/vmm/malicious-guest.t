#!/usr/bin/env bash
# malicious-guest.t: a guest posting malformed virtqueues to its disk and its NIC cannot crash lego-vmm or reach outside its RAM.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
export LEGO_TESTBED_WITH=${LEGO_TESTBED_WITH:-net}
kvm_require "$0" "$@"
# The NIC's tap on a bridge (the peer answering its ARP requests) in a network namespace of
# the test's own, gone with its last process.
[ -n "${LEGO_MG_INNER:-}" ] || LEGO_MG_INNER=1 exec unshare --net bash "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
GUEST=$BUILD/images/lego-guest.elf
tap_tmpdir
plan 11

ip link set lo up
ip link add lgmbr0 type bridge
ip addr add 10.79.0.1/24 dev lgmbr0
ip link set lgmbr0 up
ip tuntap add dev lgmt0 mode tap vnet_hdr
ip link set lgmt0 master lgmbr0
ip link set lgmt0 up

# The disk is filled with random data; only the evil workload's own valid writes may change it.
head -c 16M /dev/urandom >"$TAP_TMP/disk.img"
cp "$TAP_TMP/disk.img" "$TAP_TMP/disk.orig"

OUT=$(timeout 300 "$VMM" --kernel "$GUEST" --mem 64M --cpus 2 --disk "$TAP_TMP/disk.img" \
	--net tap=lgmt0 --stats "$TAP_TMP/stats.json" \
	--append "run=evil evil.peer=10.79.0.1 evil.ip=10.79.0.9" 2>&1 </dev/null)
RC=$?
printf '%s\n' "$OUT" >"$TAP_TMP/evil.log"

is "$RC" 0 "lego-vmm survives every malformed request and exits with the guest's status"
like "$OUT" "RESULT evil PASS" "the guest saw the specified reaction to every malformed case"
unlike "$OUT" "evil: .*: FAIL" "no sub-check failed"
cases=$(printf '%s\n' "$OUT" | grep -c '^evil: .*: ok')
ok "[ $cases -ge 15 ]" "at least 15 malformed cases exercised ($cases)"
net=$(printf '%s\n' "$OUT" | grep -c '^evil: net-.*: ok')
ok "[ $net -ge 19 ]" "... of which at least 19 on the NIC, its rx and tx rings ($net)"
like "$OUT" "warn: virtio-net@.*vhost-net refused the (rx|tx) ring.*device needs reset" \
	"lego-vmm logged the NIC's refused rings"
unlike "$OUT" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer|SEGV" "no sanitizer report, no crash"
like "$OUT" "warn: .*virtio" "lego-vmm logged the rejected requests"
ok "[ -s '$TAP_TMP/stats.json' ]" "lego-vmm wrote its statistics after the attack"
# Nothing outside the sectors the guest legitimately wrote changed: compare past the first MiB.
ok "cmp -s -i 1048576 '$TAP_TMP/disk.img' '$TAP_TMP/disk.orig'" \
	"the disk beyond the guest's valid test writes (first MiB) is unchanged"
ok "[ \$(stat -c %s '$TAP_TMP/disk.img') -eq \$(stat -c %s '$TAP_TMP/disk.orig') ]" "the disk file did not grow"
done_testing
