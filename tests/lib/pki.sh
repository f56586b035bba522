# shellcheck shell=bash
# pki.sh: a throw-away cluster PKI for one test, the demo or a benchmark (legoctl pki): a CA
# made on first use, and a certificate for each component as it is started, valid for the
# loopback addresses. LEGO_PKI (every lego program's and legoctl's default --pki) and
# LEGO_ADMIN (legoctl's and cluster_probe's admin certificate) are exported, so that the
# commands of a test need no option for it. The nested test bed shares this filesystem: the
# same files serve inside it. The PKI holds the cluster's capability key pair too
# (capability-key.pem, capability-pub.pem): pki_init sets CAP_PKI (the directory: lego-mmon
# and lego-smon --pki), CAP_KEY (the private key: lego-controld's and a standalone lego-vmm's
# --capability-key), VMM_CAPS (lego-vmm's option words) and exports LEGO_CAPABILITY_KEY
# (what the test tools, mem_churn, pager_bench and legoctl sign with).
#   pki_init [DIR]               the CA and capability keys in DIR (default $TAP_TMP/pki,
#                                or a new directory)
#   pki_issue KIND NAME [ARGS]   KIND-NAME.pem and its key unless there already (ARGS: more
#                                legoctl pki issue options)
#   pki_virsh DIR [NAME]         virsh's files (cacert.pem, clientcert.pem, clientkey.pem)
#                                for admin NAME (default $LEGO_ADMIN) in DIR
#   pki_cleanup                  remove the PKI if pki_init made its directory
# Uses $LEGOCTL_BIN (default: the ASan+UBSan build, else the release one).
# shellcheck disable=SC2034 # PKI_DIR, CAP_* and VMM_CAPS are for the caller
PKI_DIR=${PKI_DIR:-}
PKI_MADE=
PKI_HOSTS=(--host 127.0.0.1 --host localhost --host ::1)

pki_tool() {
	local bin=${LEGOCTL_BIN:-$BUILD/asan/bin/legoctl}
	[ -x "$bin" ] || bin=$BUILD/release/bin/legoctl
	"$bin" "$@"
}

pki_init() {
	PKI_DIR=${1:-${TAP_TMP:+$TAP_TMP/pki}}
	if [ -z "$PKI_DIR" ]; then
		PKI_DIR=$(mktemp -d /tmp/lego-pki.XXXXXX) || return 1
		PKI_MADE=$PKI_DIR
	fi
	export LEGO_PKI=$PKI_DIR LEGO_ADMIN=operator
	CAP_PKI=$PKI_DIR
	CAP_KEY=$PKI_DIR/capability-key.pem
	VMM_CAPS=(--capability-key "$CAP_KEY")
	export LEGO_CAPABILITY_KEY=$CAP_KEY
	[ -s "$PKI_DIR/ca.pem" ] && return 0
	pki_tool pki init "$PKI_DIR" >/dev/null && pki_tool pki issue "$PKI_DIR" admin operator >/dev/null
}

pki_issue() {
	local kind=$1 name=$2
	shift 2
	[ -n "$PKI_DIR" ] || pki_init || return 1
	[ -s "$PKI_DIR/$kind-$name.pem" ] && return 0
	pki_tool pki issue "$PKI_DIR" "$kind" "$name" "${PKI_HOSTS[@]}" "$@" >/dev/null
}

pki_virsh() {
	[ -n "$PKI_DIR" ] || pki_init || return 1
	pki_tool pki libvirt-client "$PKI_DIR" "${2:-$LEGO_ADMIN}" "$1" >/dev/null
}

pki_cleanup() {
	[ -n "$PKI_MADE" ] && rm -rf "$PKI_MADE"
	PKI_MADE=
}
