/* net_announce.c: RARP and gratuitous ARP frames, sent in rounds after a migration. */
#include "net_announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "net_tap.h"

#define ETH_P_ARP_   0x0806
#define ETH_P_RARP_  0x8035
#define ARP_REQUEST  1
#define RARP_REQUEST 3

/* Ethernet header to broadcast, then an ARP packet for IPv4 over Ethernet (RFC 826/903). */
static void arp_frame(uint16_t ethertype, uint16_t op, const uint8_t mac[MAC_ADDR_LEN],
		      uint32_t sender_ip, const uint8_t target_mac[MAC_ADDR_LEN],
		      uint32_t target_ip, uint8_t out[NET_ANNOUNCE_FRAME])
{
	uint8_t *a = out + 14;

	memset(out, 0, NET_ANNOUNCE_FRAME);
	memset(out, 0xff, 6);
	memcpy(out + 6, mac, 6);
	out[12] = (uint8_t)(ethertype >> 8);
	out[13] = (uint8_t)ethertype;
	a[0] = 0; /* hardware type 1: Ethernet */
	a[1] = 1;
	a[2] = 0x08; /* protocol 0x0800: IPv4 */
	a[3] = 0x00;
	a[4] = 6;
	a[5] = 4;
	a[6] = (uint8_t)(op >> 8);
	a[7] = (uint8_t)op;
	memcpy(a + 8, mac, 6);
	memcpy(a + 14, &sender_ip, 4);
	memcpy(a + 18, target_mac, 6);
	memcpy(a + 24, &target_ip, 4);
}

void net_announce_rarp(const uint8_t mac[MAC_ADDR_LEN], uint8_t out[NET_ANNOUNCE_FRAME])
{
	arp_frame(ETH_P_RARP_, RARP_REQUEST, mac, 0, mac, 0, out);
}

void net_announce_garp(const uint8_t mac[MAC_ADDR_LEN], uint32_t ip,
		       uint8_t out[NET_ANNOUNCE_FRAME])
{
	static const uint8_t none[MAC_ADDR_LEN];

	arp_frame(ETH_P_ARP_, ARP_REQUEST, mac, ip, none, ip, out);
}

struct net_announce {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int nr;
	struct net_announce_nic nics[];
};

/* Sleep ms, or less if told to stop: whether to go on. */
static bool nap(struct net_announce *a, unsigned ms)
{
	struct timespec until;
	bool go;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->lock);
	while (!a->stop && pthread_cond_timedwait(&a->cond, &a->lock, &until) != ETIMEDOUT)
		;
	go = !a->stop;
	pthread_mutex_unlock(&a->lock);
	return go;
}

static void send_round(const struct net_announce *a)
{
	uint8_t frame[NET_ANNOUNCE_FRAME];

	for (int i = 0; i < a->nr; i++) {
		const struct net_announce_nic *n = &a->nics[i];

		net_announce_rarp(n->mac, frame);
		if (net_tap_send(n->tap_fd, n->hdr_bytes, frame, sizeof(frame)))
			log_warn("%s: announce (RARP): %s", n->name, strerror(errno));
		if (!n->ip)
			continue;
		net_announce_garp(n->mac, n->ip, frame);
		if (net_tap_send(n->tap_fd, n->hdr_bytes, frame, sizeof(frame)))
			log_warn("%s: announce (ARP): %s", n->name, strerror(errno));
	}
}

static void *announce_thread(void *arg)
{
	struct net_announce *a = arg;
	unsigned gap = NET_ANNOUNCE_FIRST_GAP_MS;
	int round = 0;

	for (;;) {
		send_round(a);
		if (++round == NET_ANNOUNCE_ROUNDS || !nap(a, gap))
			break;
		gap += NET_ANNOUNCE_GAP_STEP_MS;
	}
	log_info("announced %d NIC(s): %d round(s)", a->nr, round);
	return NULL;
}

struct net_announce *net_announce_start(const struct net_announce_nic *nics, int nr)
{
	struct net_announce *a;
	pthread_condattr_t ca;

	if (nr <= 0)
		return NULL;
	a = calloc(1, sizeof(*a) + (size_t)nr * sizeof(a->nics[0]));
	if (!a) {
		log_warn("announce: out of memory");
		return NULL;
	}
	a->nr = nr;
	memcpy(a->nics, nics, (size_t)nr * sizeof(a->nics[0]));
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&a->thread, NULL, announce_thread, a)) {
		log_warn("announce: cannot start its thread");
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return NULL;
	}
	return a;
}

void net_announce_stop(struct net_announce *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
