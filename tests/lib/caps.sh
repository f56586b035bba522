# shellcheck shell=bash
# caps.sh: a throw-away capability key pair for a test, bench or the demo (the cluster's
# capability-key.pem and capability-pub.pem, as `legoctl pki init` makes them), made with
# GnuTLS's certtool.
#   caps_init [DIR]   make the pair in DIR (default $TAP_TMP/pki) unless it is there; sets
#                     CAP_PKI (the directory: lego-mmon and lego-smon --pki), CAP_KEY (the
#                     private key: lego-controld and lego-vmm --capability-key) and
#                     VMM_CAPS (lego-vmm's option words), and exports LEGO_CAPABILITY_KEY
#                     (what the test tools, mem_churn and legoctl sign with)
# shellcheck disable=SC2034 # CAP_* and VMM_CAPS are for the caller
caps_init() {
	local dir=${1:-$TAP_TMP/pki}
	if ! [ -s "$dir/capability-pub.pem" ]; then
		mkdir -p "$dir" && chmod 700 "$dir" || return 1
		certtool --generate-privkey --key-type=ed25519 --no-text \
			--outfile "$dir/capability-key.pem" 2>/dev/null &&
			certtool --load-privkey "$dir/capability-key.pem" --pubkey-info --no-text \
				--outfile "$dir/capability-pub.pem" 2>/dev/null || {
			echo "caps_init: certtool could not make a capability key in $dir" >&2
			return 1
		}
	fi
	CAP_PKI=$dir
	CAP_KEY=$dir/capability-key.pem
	VMM_CAPS=(--capability-key "$CAP_KEY")
	export LEGO_CAPABILITY_KEY=$CAP_KEY
}
