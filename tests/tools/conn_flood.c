/* conn_flood.c: many connections to a lego server that do nothing more (a resource attack):
 * N connections made one after the other, each left idle, or after HELLO (lego-mmon's or
 * lego-smon's), or after HELLO and AUTH with a capability for vNode 1000 signed with
 * $LEGO_CAPABILITY_KEY (established, as a tenant with a valid capability would hold them);
 * held for S seconds. Prints "connected K" once they are made and "closed_by_server C" at
 * the end. Usage: conn_flood HOST:PORT N idle|hello|auth S [mmon|smon] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/client/mem_client.h"
#include "lib/client/smon_client.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "lib/proto/mem_proto.h"
#include "lib/proto/stor_proto.h"

#define MAX_CONNS 4096

static struct fab_conn *conns[MAX_CONNS];
static struct smon_client *smons[MAX_CONNS];

/* A memory-server connection in the mode asked: 0, or -1. */
static int mmon_conn(const char *addr, const char *mode, int i, struct cap_key *own,
		     struct cap_key *signer, struct fab_conn **out)
{
	char host[256], port[16], err[512];
	/* Authenticated: all as one vNode (a tenant's); otherwise each as another. */
	struct mem_proto_hello h = {.vnode = 1000 + (strcmp(mode, "auth") ? (uint64_t)i : 0),
				    .name = "flood"};
	struct mem_client_reply r;
	uint8_t cap[CAP_MAX_LEN];
	struct cap c = {.kind = CAP_KIND_MEMORY,
			.rights = CAP_MEM_STAT,
			.vnode = h.vnode,
			.issued = cap_now(),
			.expires = cap_now() + 3600,
			.region_count = 1};
	struct mem_client_cred cred = {.key = own, .cap = cap};

	if (!strcmp(mode, "auth")) {
		memcpy(c.holder, own->pub, CAP_KEY_LEN);
		cred.cap_len = cap_key_issue(signer, &c, cap, err, sizeof(err));
		return mem_client_connect(fabric_default_provider(), addr, h.vnode, "flood", &cred,
					  5000, out, NULL, err, sizeof(err));
	}
	parse_hostport(addr, 1, host, sizeof(host), port, sizeof(port));
	if (fabric_connect(fabric_default_provider(), host, port, 4096, 5000, out))
		return -1;
	if (strcmp(mode, "hello"))
		return 0;
	mem_proto_hello_put((uint8_t *)fabric_sbuf(*out) + MP_HDR_LEN, &h);
	return mem_client_exchange(*out, 1, MP_HELLO, MP_HELLO_LEN, 5000, &r) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct cap_holder holder;
	struct cap_key own = {0}, signer = {0};
	uint64_t n, secs;
	int made = 0, closed = 0;
	bool smon = argc == 6 && !strcmp(argv[5], "smon");
	const char *mode = argc >= 4 ? argv[3] : "";
	char host[256], port[16], err[512];

	if ((argc != 5 && argc != 6) || parse_uint(argv[2], 1, MAX_CONNS, &n) ||
	    parse_uint(argv[4], 1, 3600, &secs) ||
	    (strcmp(mode, "idle") && strcmp(mode, "hello") && strcmp(mode, "auth")) ||
	    parse_hostport(argv[1], 1, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr,
			"Usage: conn_flood HOST:PORT N idle|hello|auth SECONDS [mmon|smon]\n");
		return EX_USAGE;
	}
	log_init("conn_flood");
	log_set_level(LOG_ERROR);
	if (!strcmp(mode, "auth") &&
	    (!getenv("LEGO_CAPABILITY_KEY") ||
	     cap_key_load(&signer, getenv("LEGO_CAPABILITY_KEY"), err, sizeof(err)) ||
	     cap_key_generate(&own, err, sizeof(err)) ||
	     (smon && (cap_holder_init_env(&holder, NULL, 3600, err, sizeof(err)) ||
		       cap_holder_grant(&holder,
					&(struct cap){.kind = CAP_KIND_STORAGE,
						      .rights = CAP_STOR_STAT,
						      .flags = CAP_ALL_VOLUMES},
					err, sizeof(err)))))) {
		fprintf(stderr, "conn_flood: auth needs $LEGO_CAPABILITY_KEY: %s\n", err);
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		int rc;

		if (smon && strcmp(mode, "idle"))
			rc = smon_client_connect(fabric_default_provider(), host, port, "flood",
						 !strcmp(mode, "auth") ? &holder : NULL, 5000,
						 &smons[i], err, sizeof(err));
		else if (smon)
			rc = fabric_connect(fabric_default_provider(), host, port, 4096, 5000,
					    &conns[i]);
		else
			rc = mmon_conn(argv[1], mode, (int)i, &own, &signer, &conns[i]);
		made += !rc;
	}
	printf("connected %d\n", made);
	fflush(stdout);
	sleep((unsigned)secs);
	for (uint64_t i = 0; i < n; i++) {
		struct fab_conn *c = conns[i];
		size_t len;

		if (smons[i]) {
			struct stor_proto_vol_info info;

			closed += smon_client_vol_stat(smons[i], "none", &info) == -ENOTCONN ||
				  smon_client_broken(smons[i]);
			smon_client_disconnect(smons[i]);
			continue;
		}
		if (!c)
			continue;
		if (!fabric_post_recv(c) && fabric_recv_wait(c, 10, &len) == -ETIMEDOUT &&
		    !fabric_broken(c))
			;
		else
			closed++;
		fabric_close(c);
	}
	printf("closed_by_server %d\n", closed);
	cap_key_free(&own);
	cap_key_free(&signer);
	return 0;
}
