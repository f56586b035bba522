/* net_backlog.c: a tap's pending frames read, held, checked and sent back in from the host's
 * side of another tap (AF_PACKET with its virtio-net header, so GSO frames stay whole). */
#include "net_backlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_vnet_hdr.h"

_Static_assert(NET_BACKLOG_HDR == NET_VNET_HDR_BYTES, "the tap's header");

/* AF_PACKET's header is struct virtio_net_hdr, without the tap's 2-byte num_buffers. */
#define PACKET_HDR 10

void net_backlog_init(struct net_backlog *b)
{
	b->head = NULL;
	b->tail = &b->head;
	b->bytes = 0;
	b->nr = 0;
}

static struct net_backlog_frame *append(struct net_backlog *b, uint32_t len)
{
	struct net_backlog_frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	f->next = NULL;
	f->len = len;
	*b->tail = f;
	b->tail = &f->next;
	b->bytes += len;
	b->nr++;
	return f;
}

int net_backlog_read(struct net_backlog *b, int tap_fd)
{
	static __thread uint8_t buf[NET_BACKLOG_MAX_FRAME];
	char why[160];

	for (;;) {
		ssize_t n = read(tap_fd, buf, sizeof(buf));
		struct net_backlog_frame *f;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? (int)b->nr : -1;
		/* Short, or a header net_backlog_add would refuse on the destination. */
		if (n < NET_BACKLOG_MIN_FRAME ||
		    net_vnet_hdr_check(buf, buf + NET_BACKLOG_HDR, (size_t)n - NET_BACKLOG_HDR, why,
				       sizeof(why)))
			continue;
		/* Over the limit: what is left is dropped (read, so it goes). */
		if (b->bytes + (size_t)n > NET_BACKLOG_MAX_BYTES)
			continue;
		f = append(b, (uint32_t)n);
		if (!f)
			return -1;
		memcpy(f->data, buf, (size_t)n);
	}
}

int net_backlog_add(struct net_backlog *b, const uint8_t *data, uint32_t len, char *err,
		    size_t errlen)
{
	struct net_backlog_frame *f;
	char why[160];

	if (len < NET_BACKLOG_MIN_FRAME || len > NET_BACKLOG_MAX_FRAME) {
		snprintf(err, errlen, "a held frame of %u bytes (a header and a frame: %d..%d)",
			 len, NET_BACKLOG_MIN_FRAME, NET_BACKLOG_MAX_FRAME);
		return -1;
	}
	/* The destination's kernel would refuse most of these too (when sending it): refused
	 * here, the stream is malformed and nothing of it reaches the guest. */
	if (net_vnet_hdr_check(data, data + NET_BACKLOG_HDR, len - NET_BACKLOG_HDR, why,
			       sizeof(why))) {
		snprintf(err, errlen, "a held frame's virtio-net header: %s", why);
		return -1;
	}
	if (b->bytes + len > NET_BACKLOG_MAX_BYTES) {
		snprintf(err, errlen, "more than %u bytes of held frames", NET_BACKLOG_MAX_BYTES);
		return -1;
	}
	f = append(b, len);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(f->data, data, len);
	return 0;
}

int net_backlog_inject(struct net_backlog *b, int ifindex, char *err, size_t errlen)
{
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};
	int one = 1, sent = 0, fd;

	if (!b->nr)
		return 0;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) {
		snprintf(err, errlen, "AF_PACKET socket with a virtio-net header: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		net_backlog_free(b);
		return -1;
	}
	for (struct net_backlog_frame *f = b->head; f; f = f->next) {
		const uint8_t *frame = f->data + NET_BACKLOG_HDR;
		size_t flen = f->len - NET_BACKLOG_HDR;
		uint8_t *out = malloc(PACKET_HDR + flen);

		if (!out)
			break;
		memcpy(out, f->data, PACKET_HDR);
		memcpy(out + PACKET_HDR, frame, flen);
		to.sll_protocol = (uint16_t)(frame[12] | frame[13] << 8); /* network order */
		memcpy(to.sll_addr, frame, 6);
		/* A frame the kernel refuses (a bad header) is only that one lost. */
		if (sendto(fd, out, PACKET_HDR + flen, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
			sent++;
		free(out);
	}
	close(fd);
	net_backlog_free(b);
	return sent;
}

void net_backlog_free(struct net_backlog *b)
{
	while (b->head) {
		struct net_backlog_frame *f = b->head;

		b->head = f->next;
		free(f);
	}
	net_backlog_init(b);
}
