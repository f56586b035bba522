#!/usr/bin/env bash
# failures.t: how lego-vmm ends runs that go wrong: guest crash, all vCPUs halted, signals, status.
. "$(dirname "$0")/../lib/tap.sh"
. "$REPO/tests/lib/kvm.sh"
kvm_require "$0" "$@"
VMM=$BUILD/asan/bin/lego-vmm
IMG=$BUILD/images
tap_tmpdir
plan 12

OUT=$(timeout 120 "$VMM" --kernel "$IMG/test-triple-fault.elf" --mem 8M 2>&1 </dev/null)
RC=$?
is "$RC" 125 "a guest that triple-faults makes lego-vmm exit 125"
like "$OUT" "vCPU 0: guest shut down \\(triple fault" "the crash is reported, naming the vCPU"
like "$OUT" "^!" "the guest's console output before the crash is kept"

OUT=$(timeout 120 "$VMM" --kernel "$IMG/test-halt.elf" --mem 8M --cpus 2 2>&1 </dev/null)
RC=$?
is "$RC" 125 "a guest that halts every vCPU makes lego-vmm exit 125"
like "$OUT" "every vCPU halted without writing the debug-exit port" "the halt is explained"

OUT=$(timeout 120 "$VMM" --kernel "$IMG/test-exit-code.elf" --mem 8M --cpus 4 2>&1 </dev/null)
RC=$?
is "$RC" 42 "the debug-exit value (mod 256) is the exit status, with 3 vCPUs still spinning"
like "$OUT" "guest wrote 298 to the debug-exit port: exit status 42" "the exit is logged"

# SIGTERM stops a running guest (spinning vCPUs included) with status 128 + 15.
"$VMM" --kernel "$BUILD/images/lego-guest.elf" --mem 64M --cpus 2 \
	--append "run=memtest memtest.size=32M memtest.passes=1000" >"$TAP_TMP/sig.out" 2>&1 </dev/null &
pid=$!
for _ in $(seq 300); do grep -q 'lego-guest: abi' "$TAP_TMP/sig.out" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
RC=$?
is "$RC" 143 "SIGTERM ends the run with status 143"
like "$(cat "$TAP_TMP/sig.out")" "received signal 15: stopping the guest" "the signal is logged"
unlike "$(cat "$TAP_TMP/sig.out")" "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "no sanitizer report on a signal stop"

OUT=$(timeout 120 "$VMM" --kernel "$BUILD/images/lego-guest.elf" --mem 16M \
	--console "$TAP_TMP/console.txt" --stats "$TAP_TMP/stats.json" --append "run=memtest memtest.size=1M" 2>&1 </dev/null)
like "$(cat "$TAP_TMP/console.txt")" "RESULT memtest PASS" "--console writes the guest console to a file"
like "$(cat "$TAP_TMP/stats.json")" '"exit_status": 0' "--stats writes the run statistics"
done_testing
