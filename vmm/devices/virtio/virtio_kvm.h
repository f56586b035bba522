/* virtio_kvm.h: a virtio-mmio device wired to KVM: an irqfd for its interrupt, ioeventfds for
 * QueueNotify. */
#ifndef LEGO_VIRTIO_KVM_H
#define LEGO_VIRTIO_KVM_H

#include <stdint.h>

#include "virtio_mmio.h"

struct virtio_kvm;

/* The device's interrupt becomes GSI gsi (KVM_IRQFD: an edge each time InterruptStatus
 * becomes non-zero, no exit); each queue's QueueNotify write becomes an ioeventfd
 * (KVM_IOEVENTFD, matched on the queue index: the vCPU does not wait for the device) served
 * by a thread of the device's own. A device with eventfds of its own
 * (virtio_mmio_set_eventfds: vhost serves its queues) gets them wired instead, no thread
 * polls them, and its driver's InterruptACK of the used-buffer bit alone stays in KVM (an
 * ioeventfd: vhost's used buffers are no cause lego-vmm keeps). Needs the in-kernel
 * irqchip. NULL (logged) on failure. */
struct virtio_kvm *virtio_kvm_attach(struct virtio_mmio_dev *dev, int vm_fd, uint32_t gsi);

/* Stop the thread, unhook the eventfds from KVM and the device, free. NULL is a no-op. */
void virtio_kvm_detach(struct virtio_kvm *vk);

#endif
