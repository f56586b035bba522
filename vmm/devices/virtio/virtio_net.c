/* virtio_net.c: virtio-net on virtio-mmio: config space, features, and vhost-net started,
 * stopped and watched as the driver and live migration move the device's state. */
#include "virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"
#include "virtio_net_vhost.h"

#define NR_QUEUES 2

struct virtio_net {
	struct virtio_net_config config;
	struct virtio_net_vhost vh;
	int tap_fd;
	int kick_fd[NR_QUEUES], call_fd, err_fd[NR_QUEUES], stop_fd;
	pthread_t watch;
	bool watching;
	/* Under the device lock: */
	bool held;   /* migrating in: nothing runs until released */
	bool paused; /* a migration's source paused it */
	bool running;
	bool attached[NR_QUEUES];
};

static const char *const queue_name[NR_QUEUES] = {"rx", "tx"};

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		log_debug("virtio-net: eventfd write: %s", strerror(errno));
}

/* The offloads the tap may hand us, as the driver accepted them (virtio 1.1 §5.1.6.4). */
static unsigned tap_offloads(uint64_t f)
{
	unsigned o = 0;

	if (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM))
		o |= TUN_F_CSUM;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		o |= TUN_F_TSO4;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		o |= TUN_F_TSO6;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_ECN))
		o |= TUN_F_TSO_ECN;
	return o;
}

/* Under the lock: detach vhost-net from every queue; with record, where each queue stands
 * goes into its state (the rings are still mapped: not after a reset). */
static void stop_locked(struct virtio_mmio_dev *dev, bool record)
{
	struct virtio_net *n = virtio_mmio_priv(dev);
	char why[200];

	for (int q = 0; q < NR_QUEUES; q++) {
		struct virtqueue *vq = virtio_mmio_queue(dev, q);
		uint16_t last_avail;

		if (!n->attached[q])
			continue;
		n->attached[q] = false;
		if (virtio_net_vhost_stop(&n->vh, q, &last_avail, why, sizeof(why))) {
			log_error("%s: %s queue: %s", virtio_mmio_name(dev), queue_name[q], why);
			continue;
		}
		if (record && vq->used) {
			vq->last_avail = vq->avail_end = last_avail;
			vq->used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
		}
	}
	n->running = false;
	virtio_mmio_set_used_external(dev, false);
}

/* Under the lock: if the driver has started the device and nothing holds it, hand every
 * ready queue to vhost-net. A failure makes the device need a reset. */
static void start_locked(struct virtio_mmio_dev *dev)
{
	struct virtio_net *n = virtio_mmio_priv(dev);
	uint32_t st = virtio_mmio_status(dev);
	uint64_t f = virtio_mmio_driver_features(dev);
	unsigned offloads = tap_offloads(f);
	char why[200] = "";

	if (n->running || n->held || n->paused || !(st & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (st & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0) {
		snprintf(why, sizeof(why), "the tap refuses offloads 0x%x: %s", offloads,
			 strerror(errno));
		goto fail;
	}
	if (virtio_net_vhost_set_features(&n->vh, f, why, sizeof(why)))
		goto fail;
	for (int q = 0; q < NR_QUEUES; q++) {
		const struct virtqueue *vq = virtio_mmio_queue(dev, q);

		if (!vq->ready)
			continue;
		if (virtio_net_vhost_start(&n->vh, q, vq, n->kick_fd[q], n->call_fd, n->err_fd[q],
					   n->tap_fd, why, sizeof(why)))
			goto fail;
		n->attached[q] = true;
	}
	n->running = true;
	virtio_mmio_set_used_external(dev, true);
	log_debug("%s: vhost-net runs (features 0x%llx, tap offloads 0x%x)", virtio_mmio_name(dev),
		  (unsigned long long)f, offloads);
	return;
fail:
	stop_locked(dev, false);
	virtio_mmio_needs_reset(dev, -1, "cannot start the data path: %s", why);
}

static void net_notify(struct virtio_mmio_dev *dev, int queue)
{
	struct virtio_net *n = virtio_mmio_priv(dev);

	/* A trapped QueueNotify (no ioeventfd: the freestanding guest): vhost-net's kick. */
	signal_fd(n->kick_fd[queue]);
}

static void net_reset(struct virtio_mmio_dev *dev)
{
	stop_locked(dev, false);
}

static void net_driver_ok(struct virtio_mmio_dev *dev)
{
	start_locked(dev);
}

static void net_queue_ready(struct virtio_mmio_dev *dev, int queue, bool ready)
{
	struct virtio_net *n = virtio_mmio_priv(dev);

	(void)queue;
	(void)ready;
	/* Queues are handed over together: take them back, then give what is ready now. */
	if (n->running) {
		stop_locked(dev, true);
		start_locked(dev);
	}
}

static const struct virtio_mmio_ops virtio_net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = NR_QUEUES,
	.notify = net_notify,
	.reset = net_reset,
	.driver_ok = net_driver_ok,
	.queue_ready = net_queue_ready,
};

/* Check one popped chain against what queue q carries: 0, or -1 with why. */
static int chain_ok(const struct virtqueue_chain *c, int q, char *why, size_t len)
{
	uint64_t bytes = 0;

	for (int i = 0; i < c->nr; i++) {
		if (c->seg[i].write != (q == VIRTIO_NET_RXQ)) {
			snprintf(why, len,
				 "chain at head %u: descriptor %d is device-%s in the %s queue",
				 c->head, i, c->seg[i].write ? "writable" : "readable",
				 queue_name[q]);
			return -1;
		}
		bytes += c->seg[i].len;
	}
	if (q == VIRTIO_NET_TXQ && bytes < VIRTIO_NET_HDR_BYTES) {
		snprintf(why, len, "chain at head %u: %llu bytes, shorter than the %d-byte header",
			 c->head, (unsigned long long)bytes, VIRTIO_NET_HDR_BYTES);
		return -1;
	}
	return 0;
}

void virtio_net_describe(const struct virtqueue *vq, const struct guest_mem *mem, int q, char *out,
			 size_t len)
{
	struct virtqueue copy = *vq;
	struct virtqueue_chain *c = malloc(sizeof(*c));
	int n;

	out[0] = '\0';
	if (!c || !vq->desc)
		goto out;
	/* A chain vhost-net took and then refused is consumed but never used: look from it. */
	if (copy.last_avail != copy.used_idx)
		copy.last_avail--;
	n = virtqueue_avail(&copy, out, len);
	for (int i = 0; i < n; i++) {
		int r = virtqueue_pop(&copy, mem, c, out, len);

		if (r <= 0 || chain_ok(c, q, out, len))
			break;
	}
out:
	free(c);
}

/* vhost-net signals a queue's error eventfd when it finds the ring malformed: the device
 * needs a reset, and the data path stays stopped until the driver resets it. */
static void queue_failed(struct virtio_mmio_dev *dev, int q)
{
	struct virtio_net *n = virtio_mmio_priv(dev);
	char why[256];

	virtio_mmio_lock(dev);
	if (n->running) {
		stop_locked(dev, true);
		virtio_net_describe(virtio_mmio_queue(dev, q), virtio_mmio_mem(dev), q, why,
				    sizeof(why));
		virtio_mmio_needs_reset(dev, q, "vhost-net refused the %s ring%s%s", queue_name[q],
					why[0] ? ": " : "", why);
	}
	virtio_mmio_unlock(dev);
}

static void *watch_thread(void *arg)
{
	struct virtio_mmio_dev *dev = arg;
	struct virtio_net *n = virtio_mmio_priv(dev);
	struct pollfd p[NR_QUEUES + 1];
	uint64_t v;

	for (int q = 0; q < NR_QUEUES; q++)
		p[q] = (struct pollfd){.fd = n->err_fd[q], .events = POLLIN};
	p[NR_QUEUES] = (struct pollfd){.fd = n->stop_fd, .events = POLLIN};
	for (;;) {
		if (poll(p, NR_QUEUES + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: poll: %s", virtio_mmio_name(dev), strerror(errno));
			return NULL;
		}
		if (p[NR_QUEUES].revents)
			return NULL;
		for (int q = 0; q < NR_QUEUES; q++) {
			if ((p[q].revents & POLLIN) && read(n->err_fd[q], &v, sizeof(v)) > 0)
				queue_failed(dev, q);
		}
	}
}

static void net_free(struct virtio_net *n)
{
	virtio_net_vhost_close(&n->vh);
	for (int q = 0; q < NR_QUEUES; q++) {
		if (n->kick_fd[q] >= 0)
			close(n->kick_fd[q]);
		if (n->err_fd[q] >= 0)
			close(n->err_fd[q]);
	}
	if (n->call_fd >= 0)
		close(n->call_fd);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n);
}

static struct virtio_net *net_alloc(const struct virtio_net_params *p, struct guest_mem *mem,
				    char *err, size_t errlen)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	bool ok;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->vh.fd = -1;
	n->tap_fd = p->tap_fd;
	n->held = p->held;
	n->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	ok = n->call_fd >= 0 && n->stop_fd >= 0;
	for (int q = 0; q < NR_QUEUES; q++) {
		n->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		n->err_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ok &= n->kick_fd[q] >= 0 && n->err_fd[q] >= 0;
	}
	if (!ok) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		net_free(n);
		return NULL;
	}
	memcpy(n->config.mac, p->mac, sizeof(n->config.mac));
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->config.max_virtqueue_pairs = htole16(1);
	if (virtio_net_vhost_open(&n->vh, mem, err, errlen)) {
		net_free(n);
		return NULL;
	}
	return n;
}

struct virtio_mmio_dev *virtio_net_create(struct bus *bus, struct guest_mem *mem, uint64_t base,
					  const struct virtio_net_params *p, char *err,
					  size_t errlen)
{
	struct virtio_net *n = net_alloc(p, mem, err, errlen);
	struct virtio_mmio_dev *dev;
	uint64_t features;
	int rc;

	if (!n)
		return NULL;
	/* What vhost-net does not implement is not offered. */
	features = VIRTIO_NET_OFFERED & ~(VIRTIO_NET_VHOST_FEATURES & ~n->vh.features);
	/* The config space up to max_virtqueue_pairs: mac, status and the pair count. */
	dev = virtio_mmio_create(bus, mem, base, &virtio_net_ops, n, features, &n->config,
				 offsetof(struct virtio_net_config, mtu));
	if (!dev) {
		snprintf(err, errlen, "cannot create the virtio-mmio device");
		net_free(n);
		return NULL;
	}
	virtio_mmio_set_eventfds(dev, n->call_fd, n->kick_fd);
	rc = pthread_create(&n->watch, NULL, watch_thread, dev);
	if (rc) {
		snprintf(err, errlen, "cannot start its watch thread: %s", strerror(rc));
		virtio_net_destroy(dev);
		return NULL;
	}
	n->watching = true;
	return dev;
}

void virtio_net_destroy(struct virtio_mmio_dev *dev)
{
	struct virtio_net *n;

	if (!dev)
		return;
	n = virtio_mmio_priv(dev);
	if (n->watching) {
		signal_fd(n->stop_fd);
		pthread_join(n->watch, NULL);
	}
	virtio_mmio_lock(dev);
	stop_locked(dev, false);
	virtio_mmio_unlock(dev);
	virtio_mmio_destroy(dev);
	net_free(n);
}

void virtio_net_pause(struct virtio_mmio_dev *dev)
{
	struct virtio_net *n = virtio_mmio_priv(dev);

	virtio_mmio_lock(dev);
	n->paused = true;
	if (n->running)
		stop_locked(dev, true);
	virtio_mmio_unlock(dev);
}

/* Start again (resume, release), then an interrupt and a kick per queue: what the driver
 * or the tap did meanwhile is looked at. */
static void restart(struct virtio_mmio_dev *dev)
{
	struct virtio_net *n = virtio_mmio_priv(dev);

	start_locked(dev);
	if (!n->running)
		return;
	for (int q = 0; q < NR_QUEUES; q++)
		if (n->attached[q])
			signal_fd(n->kick_fd[q]);
	signal_fd(n->call_fd);
}

void virtio_net_resume(struct virtio_mmio_dev *dev)
{
	struct virtio_net *n = virtio_mmio_priv(dev);

	virtio_mmio_lock(dev);
	n->paused = false;
	restart(dev);
	virtio_mmio_unlock(dev);
}

void virtio_net_release(struct virtio_mmio_dev *dev)
{
	struct virtio_net *n = virtio_mmio_priv(dev);

	virtio_mmio_lock(dev);
	n->held = false;
	restart(dev);
	virtio_mmio_unlock(dev);
}

const uint8_t *virtio_net_mac(const struct virtio_mmio_dev *dev)
{
	const struct virtio_net *n = virtio_mmio_priv(dev);

	return n->config.mac;
}
