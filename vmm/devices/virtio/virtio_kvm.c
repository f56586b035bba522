/* virtio_kvm.c: irqfd and ioeventfd plumbing for a virtio-mmio device, and its notify thread. */
#include "virtio_kvm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"

struct virtio_kvm {
	struct virtio_mmio_dev *dev;
	int vm_fd;
	uint32_t gsi;
	int irq_fd;
	int nr_queues;
	int notify_fd[VIRTIO_MMIO_MAX_QUEUES];
	bool notify_assigned[VIRTIO_MMIO_MAX_QUEUES];
	/* The device's own eventfds (virtio_mmio_set_eventfds): not ours to poll or close. */
	bool notify_external[VIRTIO_MMIO_MAX_QUEUES];
	bool irq_external;
	/* With irq_external: an InterruptACK of the used-buffer bit alone ends in KVM. */
	int ack_fd;
	bool ack_assigned;
	int nr_polled;
	bool irq_assigned;
	int stop_fd;
	pthread_t thread;
	bool thread_started;
};

static void raise_irq(void *opaque)
{
	struct virtio_kvm *vk = opaque;
	uint64_t one = 1;

	/* An eventfd write only fails if its counter would overflow, which KVM drains. */
	if (write(vk->irq_fd, &one, sizeof(one)) != sizeof(one))
		log_debug("%s: irqfd write: %s", virtio_mmio_name(vk->dev), strerror(errno));
}

static void *notify_thread(void *arg)
{
	struct virtio_kvm *vk = arg;
	struct pollfd pfd[VIRTIO_MMIO_MAX_QUEUES + 1];

	/* A queue served outside lego-vmm is not polled: fd -1 makes poll skip it. */
	for (int q = 0; q < vk->nr_queues; q++)
		pfd[q] = (struct pollfd){.fd = vk->notify_external[q] ? -1 : vk->notify_fd[q],
					 .events = POLLIN};
	pfd[vk->nr_queues] = (struct pollfd){.fd = vk->stop_fd, .events = POLLIN};
	for (;;) {
		uint64_t n;

		if (poll(pfd, (nfds_t)vk->nr_queues + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: poll on its notify eventfds: %s", virtio_mmio_name(vk->dev),
				  strerror(errno));
			return NULL;
		}
		if (pfd[vk->nr_queues].revents)
			return NULL;
		for (int q = 0; q < vk->nr_queues; q++) {
			if (!(pfd[q].revents & POLLIN))
				continue;
			/* Reading resets the count: several notifies are one pass over the queue.
			 */
			if (read(vk->notify_fd[q], &n, sizeof(n)) == sizeof(n))
				virtio_mmio_notify(vk->dev, (uint32_t)q);
		}
	}
}

static int ioeventfd(struct virtio_kvm *vk, int q, uint32_t flags)
{
	struct kvm_ioeventfd ev = {
		.datamatch = (uint64_t)q,
		.addr = virtio_mmio_base(vk->dev) + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.fd = vk->notify_fd[q],
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | flags,
	};

	return ioctl(vk->vm_fd, KVM_IOEVENTFD, &ev);
}

/* A device whose used buffers are put by vhost keeps no used-buffer cause of its own
 * (virtio_mmio_set_used_external): the driver's InterruptACK of that bit alone, written on
 * every interrupt, changes nothing, so KVM absorbs it into an eventfd nobody reads instead
 * of an exit to lego-vmm (each one a few hundred microseconds in the nested test bed). An
 * ACK with the configuration bit still comes here. */
static int ack_ioeventfd(struct virtio_kvm *vk, uint32_t flags)
{
	struct kvm_ioeventfd ev = {
		.datamatch = VIRTIO_MMIO_INT_VRING,
		.addr = virtio_mmio_base(vk->dev) + VIRTIO_MMIO_INTERRUPT_ACK,
		.len = 4,
		.fd = vk->ack_fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | flags,
	};

	return ioctl(vk->vm_fd, KVM_IOEVENTFD, &ev);
}

static int irqfd(struct virtio_kvm *vk, uint32_t flags)
{
	struct kvm_irqfd f = {.fd = (uint32_t)vk->irq_fd, .gsi = vk->gsi, .flags = flags};

	return ioctl(vk->vm_fd, KVM_IRQFD, &f);
}

struct virtio_kvm *virtio_kvm_attach(struct virtio_mmio_dev *dev, int vm_fd, uint32_t gsi)
{
	struct virtio_kvm *vk = calloc(1, sizeof(*vk));
	const char *name = virtio_mmio_name(dev);
	int err;

	if (!vk) {
		log_error("%s: out of memory", name);
		return NULL;
	}
	vk->dev = dev;
	vk->vm_fd = vm_fd;
	vk->gsi = gsi;
	vk->nr_queues = virtio_mmio_nr_queues(dev);
	vk->irq_external = virtio_mmio_irq_fd(dev) >= 0;
	vk->irq_fd = vk->irq_external ? virtio_mmio_irq_fd(dev) : eventfd(0, EFD_CLOEXEC);
	vk->stop_fd = eventfd(0, EFD_CLOEXEC);
	vk->ack_fd = vk->irq_external ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	bool fds_ok = vk->irq_fd >= 0 && vk->stop_fd >= 0 && (!vk->irq_external || vk->ack_fd >= 0);

	for (int q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++) {
		int own = virtio_mmio_kick_fd(dev, q);

		vk->notify_external[q] = own >= 0;
		vk->notify_fd[q] = own >= 0	       ? own
				   : q < vk->nr_queues ? eventfd(0, EFD_CLOEXEC)
						       : -1;
		fds_ok &= q >= vk->nr_queues || vk->notify_fd[q] >= 0;
		vk->nr_polled += q < vk->nr_queues && own < 0;
	}
	if (!fds_ok) {
		log_error("%s: eventfd: %s", name, strerror(errno));
		goto fail;
	}
	if (irqfd(vk, 0) < 0) {
		log_error("%s: KVM_IRQFD (GSI %u): %s", name, gsi, strerror(errno));
		goto fail;
	}
	vk->irq_assigned = true;
	for (int q = 0; q < vk->nr_queues; q++) {
		if (ioeventfd(vk, q, 0) < 0) {
			log_error("%s: KVM_IOEVENTFD (queue %d): %s", name, q, strerror(errno));
			goto fail;
		}
		vk->notify_assigned[q] = true;
	}
	if (vk->irq_external) {
		if (ack_ioeventfd(vk, 0) < 0) {
			log_error("%s: KVM_IOEVENTFD (InterruptACK): %s", name, strerror(errno));
			goto fail;
		}
		vk->ack_assigned = true;
	}
	/* Without a queue of ours to poll, no thread. */
	err = vk->nr_polled ? pthread_create(&vk->thread, NULL, notify_thread, vk) : 0;
	if (err) {
		log_error("%s: cannot start its notify thread: %s", name, strerror(err));
		goto fail;
	}
	vk->thread_started = vk->nr_polled > 0;
	virtio_mmio_set_irq(dev, raise_irq, vk);
	return vk;
fail:
	virtio_kvm_detach(vk);
	return NULL;
}

void virtio_kvm_detach(struct virtio_kvm *vk)
{
	uint64_t one = 1;

	if (!vk)
		return;
	virtio_mmio_set_irq(vk->dev, NULL, NULL);
	if (vk->thread_started) {
		if (write(vk->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("%s: cannot stop its notify thread", virtio_mmio_name(vk->dev));
		pthread_join(vk->thread, NULL);
	}
	for (int q = 0; q < vk->nr_queues; q++) {
		if (vk->notify_assigned[q])
			ioeventfd(vk, q, KVM_IOEVENTFD_FLAG_DEASSIGN);
		if (vk->notify_fd[q] >= 0 && !vk->notify_external[q])
			close(vk->notify_fd[q]);
	}
	if (vk->ack_assigned)
		ack_ioeventfd(vk, KVM_IOEVENTFD_FLAG_DEASSIGN);
	if (vk->ack_fd >= 0)
		close(vk->ack_fd);
	if (vk->irq_assigned)
		irqfd(vk, KVM_IRQFD_FLAG_DEASSIGN);
	if (vk->irq_fd >= 0 && !vk->irq_external)
		close(vk->irq_fd);
	if (vk->stop_fd >= 0)
		close(vk->stop_fd);
	free(vk);
}
