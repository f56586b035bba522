/* virtio.h: virtio 1.1 constants: MMIO registers (§4.2.2), status bits (§2.1), split rings. */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdint.h>

/* virtio-mmio register offsets (version 2). */
#define VIRTIO_MAGIC_VALUE	   0x000
#define VIRTIO_VERSION		   0x004
#define VIRTIO_DEVICE_ID	   0x008
#define VIRTIO_VENDOR_ID	   0x00c
#define VIRTIO_DEVICE_FEATURES	   0x010
#define VIRTIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_DRIVER_FEATURES	   0x020
#define VIRTIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_QUEUE_SEL	   0x030
#define VIRTIO_QUEUE_NUM_MAX	   0x034
#define VIRTIO_QUEUE_NUM	   0x038
#define VIRTIO_QUEUE_READY	   0x044
#define VIRTIO_QUEUE_NOTIFY	   0x050
#define VIRTIO_INTERRUPT_STATUS	   0x060
#define VIRTIO_INTERRUPT_ACK	   0x064
#define VIRTIO_STATUS		   0x070
#define VIRTIO_QUEUE_DESC_LOW	   0x080
#define VIRTIO_QUEUE_DESC_HIGH	   0x084
#define VIRTIO_QUEUE_DRIVER_LOW	   0x090
#define VIRTIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_QUEUE_DEVICE_LOW	   0x0a0
#define VIRTIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_CONFIG		   0x100

#define VIRTIO_MAGIC	      0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION   2u
#define VIRTIO_LEGO_VENDOR_ID 0x4f47454cu /* "LEGO", lego-vmm's devices */

/* Device status bits. */
#define VIRTIO_S_ACKNOWLEDGE	    0x01u
#define VIRTIO_S_DRIVER		    0x02u
#define VIRTIO_S_DRIVER_OK	    0x04u
#define VIRTIO_S_FEATURES_OK	    0x08u
#define VIRTIO_S_DEVICE_NEEDS_RESET 0x40u
#define VIRTIO_S_FAILED		    0x80u

/* Feature bits. */
#define VIRTIO_F_VERSION_1	    32
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29

/* Device IDs. */
#define VIRTIO_ID_NET	1
#define VIRTIO_ID_BLOCK 2

/* Split virtqueue layout (§2.6). */
#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

struct virtio_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtio_vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtio_vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtio_vring_used {
	uint16_t flags;
	uint16_t idx;
	struct virtio_vring_used_elem ring[];
};

#define VRING_DESC_ALIGN  16
#define VRING_AVAIL_ALIGN 2
#define VRING_USED_ALIGN  4

/* virtio-blk (§5.2). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO	      5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SIZE_MAX 8
#define VIRTIO_BLK_CFG_SEG_MAX	12
#define VIRTIO_BLK_CFG_BLK_SIZE 20

#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR   512

struct virtio_blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* virtio-net (§5.1): queue 0 receives, queue 1 transmits; every packet starts with a
 * 12-byte struct virtio_net_hdr (virtio 1.x: num_buffers included). */
#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_CFG_MAC   0
#define VIRTIO_NET_RXQ	     0
#define VIRTIO_NET_TXQ	     1
#define VIRTIO_NET_HDR_BYTES 12

#endif
