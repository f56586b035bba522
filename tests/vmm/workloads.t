#!/usr/bin/env bash
# workloads.t: the ASan+UBSan lego-vmm boots the freestanding guest with each workload, 1 and 2 vCPUs.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
GUEST=$BUILD/images/lego-guest.elf
tap_tmpdir
plan 39

boot() { # name args...: runs lego-vmm, sets OUT (console + log) and RC
	local name=$1
	shift
	OUT=$(timeout 300 "$VMM" --kernel "$GUEST" "$@" 2>&1 </dev/null)
	RC=$?
	printf '%s\n' "$OUT" >"$TAP_TMP/$name.log"
}

no_sanitizer_report() {
	unlike "$OUT" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$1: no sanitizer report"
}

for cpus in 1 2; do
	boot memtest$cpus --mem 64M --cpus $cpus --append "run=memtest memtest.size=16M"
	is "$RC" 0 "memtest, $cpus vCPU(s): lego-vmm exits with the guest's status 0"
	like "$OUT" "RESULT memtest PASS .*vcpus=$cpus .*errors=0" "memtest, $cpus vCPU(s): every pattern verified"
	no_sanitizer_report "memtest, $cpus vCPU(s)"
done

# The other memtest modes: a zipfian hot set of pages and per-vCPU hash tables, every read
# verified. top1pct: the hottest 1% of pages took a fifth of the accesses or more (skewed).
for cpus in 1 2; do
	boot zipf$cpus --mem 64M --cpus $cpus --append "run=memtest memtest.mode=zipf memtest.size=16M"
	is "$RC" 0 "memtest.mode=zipf, $cpus vCPU(s): exit status 0"
	like "$OUT" "RESULT memtest-zipf PASS .*vcpus=$cpus .*top1pct=[2-9][0-9] errors=0" \
		"memtest.mode=zipf, $cpus vCPU(s): every page read verified, accesses skewed"
	no_sanitizer_report "memtest.mode=zipf, $cpus vCPU(s)"
	boot kv$cpus --mem 64M --cpus $cpus --append "run=memtest memtest.mode=kv memtest.size=16M"
	is "$RC" 0 "memtest.mode=kv, $cpus vCPU(s): exit status 0"
	like "$OUT" "RESULT memtest-kv PASS .*vcpus=$cpus .*errors=0" \
		"memtest.mode=kv, $cpus vCPU(s): every get and the final scan verified"
	no_sanitizer_report "memtest.mode=kv, $cpus vCPU(s)"
done

truncate -s 64M "$TAP_TMP/disk.img"
for cpus in 1 2; do
	boot blktest$cpus --mem 64M --cpus $cpus --disk "$TAP_TMP/disk.img" \
		--append "run=blktest blktest.size=2M blktest.seed=$cpus"
	is "$RC" 0 "blktest, $cpus vCPU(s): exit status 0"
	like "$OUT" "RESULT blktest PASS" "blktest, $cpus vCPU(s): written blocks read back intact"
	no_sanitizer_report "blktest, $cpus vCPU(s)"
done
# Random block order, in both passes, with a partial last block and 16 requests in flight.
for cpus in 1 2; do
	boot blkrand$cpus --mem 64M --cpus $cpus --disk "$TAP_TMP/disk.img" \
		--append "run=blktest blktest.size=1100K blktest.bs=8K blktest.qd=16 blktest.order=rand blktest.seed=$((cpus + 7))"
	is "$RC" 0 "blktest.order=rand, $cpus vCPU(s): exit status 0"
	like "$OUT" "RESULT blktest PASS bytes=1126400 bs=8192 qd=16 order=rand .*errors=0" \
		"blktest.order=rand, $cpus vCPU(s): every block read back intact"
	no_sanitizer_report "blktest.order=rand, $cpus vCPU(s)"
done
# The guest's writes reached the backing file: 2 MiB of it is no longer zero.
nonzero=$(head -c 2M "$TAP_TMP/disk.img" | tr -d '\0' | wc -c)
ok "[ $nonzero -gt 1000000 ]" "blktest data is in the disk file ($nonzero non-zero bytes)"

boot both --mem 128M --cpus 2 --disk "$TAP_TMP/disk.img" \
	--append "run=memtest,blktest memtest.size=32M blktest.size=1M"
is "$RC" 0 "memtest then blktest in one boot: exit status 0"
like "$OUT" "RESULT memtest PASS" "combined boot: memtest passed"
like "$OUT" "RESULT blktest PASS" "combined boot: blktest passed"
like "$OUT" "lego-guest: all passed" "combined boot: the guest reports all passed"

# A guest that fails a check must make lego-vmm exit non-zero: an unknown workload.
boot unknown --mem 16M --append "run=nosuchworkload"
is "$RC" 1 "an unknown workload makes the guest (and lego-vmm) exit 1"
like "$OUT" "nosuchworkload" "the guest names the unknown workload"

boot badmode --mem 16M --append "run=memtest memtest.mode=zipfian"
is "$RC" 1 "an unknown memtest.mode makes the guest exit 1"
like "$OUT" "bad command line: unknown memtest.mode 'zipfian' \\(known: patterns, zipf, kv, all\\)" \
	"the guest names the bad memtest.mode and the known ones"
done_testing
