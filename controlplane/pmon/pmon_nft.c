/* pmon_nft.c: the anti-spoofing, overlay and isolation rules of lego-pmon's networks, as an
 * nftables script applied through libnftables in one transaction. */
#include "pmon_nft.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "lib/proto/net_proto.h"
#include "lib/strbuf.h"

#define TABLE	 "lego_pmon"
#define TEXT_MAX (4U << 20)

/* A tap's own chain: what its vNode may send. */
static void port_chain(struct strbuf *b, const struct pmon_nft_port *p)
{
	char mac[18], ip[16];

	net_proto_mac_format(p->mac, mac);
	net_proto_ip_format(p->ip, ip);
	strbuf_printf(b,
		      "\tchain port_%s {\n"
		      "\t\tether saddr != %s drop\n"
		      "\t\tether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 "
		      "arp saddr ether %s arp saddr ip { %s, 0.0.0.0 } accept\n"
		      "\t\tether type arp drop\n"
		      "\t\tether type ip ip protocol udp udp sport 67 drop\n"
		      "\t\tether type ip ip saddr %s accept\n"
		      "\t\tether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 ip protocol udp "
		      "udp sport 68 udp dport 67 accept\n"
		      "\t\tether type 0x8035 accept\n"
		      "\t\tdrop\n\t}\n",
		      p->tap, mac, mac, ip, ip);
}

static void bridge_table(struct strbuf *b, const struct pmon_nft_state *s)
{
	strbuf_printf(b, "table bridge " TABLE " {\n");
	for (int i = 0; i < s->nr_ports; i++)
		port_chain(b, &s->ports[i]);
	strbuf_printf(b, "\tchain ports {\n\t\ttype filter hook prerouting priority -300; "
			 "policy accept;\n");
	if (s->nr_ports) {
		strbuf_printf(b, "\t\tiifname vmap {");
		for (int i = 0; i < s->nr_ports; i++)
			strbuf_printf(b, "%s \"%s\" : jump port_%s", i ? "," : "", s->ports[i].tap,
				      s->ports[i].tap);
		strbuf_printf(b, " }\n");
	}
	strbuf_printf(
		b,
		"\t}\n"
		"\tchain overlay_fwd {\n\t\ttype filter hook forward priority 0; policy accept;\n"
		"\t\toifname \"lgvx*\" ether type ip ip protocol udp udp dport { 67, 68 } drop\n"
		"\t\tiifname \"lgvx*\" ether type ip ip protocol udp udp dport { 67, 68 } drop\n"
		"\t}\n"
		"\tchain overlay_out {\n\t\ttype filter hook output priority 0; policy accept;\n"
		"\t\toifname \"lgvx*\" drop\n\t}\n"
		"\tchain overlay_in {\n\t\ttype filter hook input priority 0; policy accept;\n"
		"\t\tiifname \"lgvx*\" drop\n\t}\n}\n");
}

static void inet_table(struct strbuf *b, const struct pmon_nft_state *s)
{
	char ip[16], br[NET_PROTO_IFNAME_MAX + 1];

	strbuf_printf(b, "table inet " TABLE " {\n\tset vteps {\n\t\ttype ipv4_addr\n");
	for (int i = 0; i < s->nr_peers; i++) {
		net_proto_ip_format(s->peers[i], ip);
		strbuf_printf(b, "%s%s", i ? ", " : "\t\telements = { ", ip);
	}
	strbuf_printf(
		b,
		"%s\t}\n"
		"\tchain host_in {\n\t\ttype filter hook input priority 0; policy accept;\n"
		"\t\tmeta nfproto ipv4 udp dport %u ip saddr != @vteps drop\n"
		"\t\tmeta nfproto ipv6 udp dport %u drop\n"
		"\t\tiifname \"lgbr*\" meta nfproto ipv4 udp dport 67 accept\n"
		"\t\tiifname \"lgbr*\" drop\n\t}\n"
		"\tchain host_fwd {\n\t\ttype filter hook forward priority 0; policy accept;\n",
		s->nr_peers ? " }\n" : "", s->vxlan_port, s->vxlan_port);
	/* Bridged frames cross this hook too (br_netfilter) with the same bridge in and out. */
	for (int i = 0; i < s->nr_vnis; i++) {
		net_proto_bridge_name(s->vnis[i], br);
		strbuf_printf(b,
			      "\t\tiifname \"%s\" oifname != \"%s\" drop\n"
			      "\t\toifname \"%s\" iifname != \"%s\" drop\n",
			      br, br, br, br);
	}
	strbuf_printf(b, "\t}\n}\n");
}

int pmon_nft_apply(const struct pmon_nft_state *s, char *err, size_t errlen)
{
	struct nft_ctx *ctx;
	struct strbuf b;
	int rc = -1;

	strbuf_init(&b, TEXT_MAX);
	/* Each table created if missing, so that it can be deleted, then written anew. */
	strbuf_printf(&b, "table bridge " TABLE "\ndelete table bridge " TABLE "\n"
			  "table inet " TABLE "\ndelete table inet " TABLE "\n");
	if (s->nr_vnis) {
		bridge_table(&b, s);
		inet_table(&b, s);
	}
	if (b.failed) {
		snprintf(err, errlen, "the nftables rules do not fit in %u MiB", TEXT_MAX >> 20);
		strbuf_free(&b);
		return -1;
	}
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		snprintf(err, errlen, "cannot create an nftables context");
		strbuf_free(&b);
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (nft_run_cmd_from_buffer(ctx, b.p)) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		size_t n;

		snprintf(err, errlen, "nftables refused lego-pmon's rules: %s", e ? e : "?");
		n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
	} else {
		rc = 0;
	}
	nft_ctx_free(ctx);
	strbuf_free(&b);
	return rc;
}
