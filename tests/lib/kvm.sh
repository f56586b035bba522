# kvm.sh: for scripts that need KVM: run here if /dev/kvm works, else re-run the script inside the nested test bed (sourced, sh or bash).
#
#   . tests/lib/kvm.sh
#   kvm_require "$0" "$@"   # returns when KVM is usable here; otherwise exec's the script in L1
#   kvm_usable              # true if /dev/kvm is a character device we can open read-write
#   kvm_hw                  # true if the CPU has hardware virtualization (vmx or svm)
#   kvm_nested              # true when running inside the test bed (LEGO_IN_TESTBED=1)
#   kvm_env                 # prints "nested-tcg" inside the test bed, "native" otherwise
#
# LEGO_TESTBED=auto (default): use the test bed unless /dev/kvm is usable here and backed by
# hardware virtualization. A /dev/kvm without vmx/svm is PVM (software virtualization): it
# runs our guests, but under instruction emulation (measured: guest memory loops ~1000x
# slower, a 16 MiB memtest 260 s), so the emulated test bed with nested KVM is faster;
# always: run in the test bed even if /dev/kvm works; never: run here, fail without KVM.
# Inside the test bed (run-in-l1 sets LEGO_IN_TESTBED=1) the script always runs where it is,
# and a missing /dev/kvm there is a test-bed failure: "Bail out!".
# LEGO_TESTBED_MEM, LEGO_TESTBED_CPUS, LEGO_TESTBED_TIMEOUT set run-in-l1's defaults.
# shellcheck shell=sh

if [ -n "${BASH_VERSION:-}" ]; then
	eval '_kvm_sh_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)'
else
	_kvm_sh_repo=${REPO:-}
fi

kvm_usable() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	# Opening it proves a driver is behind the node.
	(: <>/dev/kvm) 2>/dev/null
}

kvm_hw() {
	grep -q -w -E 'vmx|svm' /proc/cpuinfo 2>/dev/null
}

kvm_nested() {
	[ "${LEGO_IN_TESTBED:-0}" = 1 ]
}

kvm_env() {
	if kvm_nested; then echo nested-tcg; else echo native; fi
}

kvm_require() { # script [args...]
	_kvm_script=$1
	shift
	if kvm_nested; then
		kvm_usable && return 0
		echo "Bail out! no /dev/kvm inside the test bed"
		exit 255
	fi
	case ${LEGO_TESTBED:-auto} in
	auto)
		kvm_usable && kvm_hw && return 0
		;;
	always) ;;
	never)
		kvm_usable && return 0
		echo "Bail out! no usable /dev/kvm here and LEGO_TESTBED=never"
		exit 255
		;;
	*)
		echo "Bail out! LEGO_TESTBED='${LEGO_TESTBED}': use auto, always or never"
		exit 255
		;;
	esac
	_kvm_run=${_kvm_sh_repo:-${REPO:-.}}/tests/testbed/run-in-l1
	if [ ! -x "$_kvm_run" ]; then
		echo "Bail out! no usable /dev/kvm and no test bed ($_kvm_run)"
		exit 255
	fi
	if [ -x "$_kvm_script" ]; then
		exec "$_kvm_run" -- "$_kvm_script" "$@"
	elif [ -n "${BASH:-}" ]; then
		exec "$_kvm_run" -- "$BASH" "$_kvm_script" "$@"
	else
		exec "$_kvm_run" -- /bin/sh "$_kvm_script" "$@"
	fi
}
