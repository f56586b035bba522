/* virtio_net_vhost.c: vhost-net's ioctls for one virtio-net device: owner, memory table,
 * features, a queue's rings and eventfds, the tap as backend. */
#include "virtio_net_vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VHOST_DEV "/dev/vhost-net"

static int vh_ioctl(int fd, unsigned long req, void *arg, const char *name, char *err,
		    size_t errlen)
{
	if (ioctl(fd, req, arg) == 0)
		return 0;
	snprintf(err, errlen, "vhost-net %s: %s", name, strerror(errno));
	return -1;
}

int virtio_net_vhost_open(struct virtio_net_vhost *vh, const struct guest_mem *mem, char *err,
			  size_t errlen)
{
	struct vhost_memory *table;
	int rc = -1;

	vh->fd = open(VHOST_DEV, O_RDWR | O_CLOEXEC);
	if (vh->fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s%s", VHOST_DEV, strerror(errno),
			 errno == ENOENT ? " (load the vhost_net module)" : "");
		return -1;
	}
	table = calloc(1, sizeof(*table) + GUEST_MEM_MAX_SLOTS * sizeof(table->regions[0]));
	if (!table) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	table->nregions = (uint32_t)mem->nr_slots;
	for (int i = 0; i < mem->nr_slots; i++)
		table->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = mem->slots[i].gpa,
			.memory_size = mem->slots[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->slots[i].hva};
	if (vh_ioctl(vh->fd, VHOST_SET_OWNER, NULL, "SET_OWNER", err, errlen) ||
	    vh_ioctl(vh->fd, VHOST_GET_FEATURES, &vh->features, "GET_FEATURES", err, errlen) ||
	    vh_ioctl(vh->fd, VHOST_SET_MEM_TABLE, table, "SET_MEM_TABLE", err, errlen))
		goto out;
	if (!(vh->features & (1ULL << VIRTIO_F_VERSION_1))) {
		snprintf(err, errlen, "this kernel's vhost-net lacks VIRTIO_F_VERSION_1");
		goto out;
	}
	rc = 0;
out:
	free(table);
	if (rc)
		virtio_net_vhost_close(vh);
	return rc;
}

void virtio_net_vhost_close(struct virtio_net_vhost *vh)
{
	if (vh->fd >= 0)
		close(vh->fd);
	vh->fd = -1;
}

int virtio_net_vhost_set_features(struct virtio_net_vhost *vh, uint64_t acked, char *err,
				  size_t errlen)
{
	uint64_t f = acked & vh->features & VIRTIO_NET_VHOST_FEATURES;

	return vh_ioctl(vh->fd, VHOST_SET_FEATURES, &f, "SET_FEATURES", err, errlen);
}

int virtio_net_vhost_start(struct virtio_net_vhost *vh, int q, const struct virtqueue *vq,
			   int kick_fd, int call_fd, int err_fd, int tap_fd, char *err,
			   size_t errlen)
{
	unsigned idx = (unsigned)q;
	struct vhost_vring_state num = {.index = idx, .num = vq->size};
	struct vhost_vring_state base = {.index = idx, .num = vq->last_avail};
	struct vhost_vring_addr addr = {.index = idx,
					.desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
					.avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
					.used_user_addr = (uint64_t)(uintptr_t)vq->used};
	struct vhost_vring_file kick = {.index = idx, .fd = kick_fd};
	struct vhost_vring_file call = {.index = idx, .fd = call_fd};
	struct vhost_vring_file error = {.index = idx, .fd = err_fd};
	struct vhost_vring_file backend = {.index = idx, .fd = tap_fd};

	const struct {
		unsigned long req;
		void *arg;
		const char *name;
	} steps[] = {
		{VHOST_SET_VRING_NUM, &num, "SET_VRING_NUM"},
		{VHOST_SET_VRING_BASE, &base, "SET_VRING_BASE"},
		{VHOST_SET_VRING_ADDR, &addr, "SET_VRING_ADDR"},
		{VHOST_SET_VRING_KICK, &kick, "SET_VRING_KICK"},
		{VHOST_SET_VRING_CALL, &call, "SET_VRING_CALL"},
		{VHOST_SET_VRING_ERR, &error, "SET_VRING_ERR"},
		{VHOST_NET_SET_BACKEND, &backend, "NET_SET_BACKEND"},
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (vh_ioctl(vh->fd, steps[i].req, steps[i].arg, steps[i].name, err, errlen))
			return -1;
	return 0;
}

int virtio_net_vhost_stop(struct virtio_net_vhost *vh, int q, uint16_t *last_avail, char *err,
			  size_t errlen)
{
	struct vhost_vring_file backend = {.index = (unsigned)q, .fd = VHOST_FILE_UNBIND};
	struct vhost_vring_state base = {.index = (unsigned)q};

	if (vh_ioctl(vh->fd, VHOST_NET_SET_BACKEND, &backend, "NET_SET_BACKEND (unbind)", err,
		     errlen) ||
	    vh_ioctl(vh->fd, VHOST_GET_VRING_BASE, &base, "GET_VRING_BASE", err, errlen))
		return -1;
	*last_avail = (uint16_t)base.num;
	return 0;
}
