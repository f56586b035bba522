/* cap.h: a capability: what one vNode (or lego-controld, or a memory server filling a copy)
 * may do on the memory servers (lego-mmon) or storage servers (lego-smon), signed by
 * lego-controld's capability key (capability-key.pem; Ed25519) and bound to its holder.
 *
 * The holder is named by an Ed25519 public key in the capability: a server accepts it on a
 * connection only with the holder's signature over that connection's challenge (cap_key.h:
 * cap_key_prove), so a capability seen on the wire cannot be replayed by another one.
 *
 * All fields little-endian at fixed offsets; the signature covers every byte before it:
 *
 *   off size                                  memory body (at 88, 24 bytes)
 *   0   4   magic "LEGK"                      88  4  first vRegion index covered
 *   4   2   version (1)                       92  4  number of vRegion indexes covered
 *   6   2   kind: 1 memory, 2 storage         96  8  largest vRegion it may create (bytes)
 *   8   4   rights (CAP_MEM_* / CAP_STOR_*)   104 8  quota: bytes its vRegions may reserve
 *   12  4   flags (CAP_ALL_VOLUMES)                   on one server
 *   16  8   vNode id (0: none, storage only)  storage body (at 88):
 *   24  8   issued (Unix seconds)             88  4  number of volumes n, 92 4 zero
 *   32  8   expires (Unix seconds)            96  n x {name[64] NUL-padded, rights(4),
 *   40  8   serial (random, for logs)                  zero(4)}
 *   48  8   signer key id (cap_key_id)        then a 64-byte Ed25519 signature
 *   56  32  holder's Ed25519 public key
 */
#ifndef LEGO_CAP_H
#define LEGO_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_MAGIC	  0x4b47454cU /* "LEGK" */
#define CAP_VERSION	  1
#define CAP_KEY_LEN	  32 /* Ed25519 public key */
#define CAP_SIG_LEN	  64 /* Ed25519 signature */
#define CAP_HEAD_LEN	  88
#define CAP_MEM_BODY_LEN  24
#define CAP_VOL_NAME_LEN  64
#define CAP_VOL_ENTRY_LEN 72
#define CAP_MAX_VOLUMES	  16
#define CAP_MEM_LEN	  (CAP_HEAD_LEN + CAP_MEM_BODY_LEN + CAP_SIG_LEN)
#define CAP_MAX_LEN	  (CAP_HEAD_LEN + 8 + CAP_MAX_VOLUMES * CAP_VOL_ENTRY_LEN + CAP_SIG_LEN)
#define CAP_MAX_LIFETIME  (7 * 24 * 3600) /* seconds from issued to expires, at most */
#define CAP_CLOCK_SKEW	  300		  /* issued this far in the future still counts */

enum cap_kind {
	CAP_KIND_MEMORY = 1,
	CAP_KIND_STORAGE = 2,
};

/* Memory rights: what each memory-protocol request needs. */
#define CAP_MEM_OPEN	0x001U /* OPEN an existing vRegion (its handle, epoch) */
#define CAP_MEM_CREATE	0x002U /* OPEN with CREATE or JOIN, within the quota */
#define CAP_MEM_READ	0x004U /* READ */
#define CAP_MEM_WRITE	0x008U /* WRITE */
#define CAP_MEM_CLOSE	0x010U /* CLOSE: free a vRegion */
#define CAP_MEM_FILL	0x020U /* FILL: have this server copy a vRegion from another */
#define CAP_MEM_RELEASE 0x040U /* RELEASE: a vRegion moved away */
#define CAP_MEM_STATE	0x080U /* RSTAT, BITMAP */
#define CAP_MEM_STAT	0x100U /* STAT: the pool's figures */
#define CAP_MEM_ALL	0x1ffU
/* Storage rights, per volume (or for every volume with CAP_ALL_VOLUMES). */
#define CAP_STOR_READ	0x001U /* READ */
#define CAP_STOR_WRITE	0x002U /* WRITE, FLUSH */
#define CAP_STOR_STAT	0x004U /* STAT */
#define CAP_STOR_CREATE 0x008U /* CREATE */
#define CAP_STOR_RESIZE 0x010U /* RESIZE */
#define CAP_STOR_DELETE 0x020U /* DELETE */
#define CAP_STOR_LIST	0x040U /* LIST every volume's name (with CAP_ALL_VOLUMES only) */
#define CAP_STOR_ALL	0x07fU
#define CAP_ALL_VOLUMES 0x1U /* flag: the rights hold for every volume of the server */

struct cap_volume {
	char name[CAP_VOL_NAME_LEN + 1];
	uint32_t rights;
};

struct cap {
	uint16_t kind;
	uint32_t rights, flags;
	uint64_t vnode;
	uint64_t issued, expires;
	uint64_t serial;
	uint8_t signer[8];
	uint8_t holder[CAP_KEY_LEN];
	/* memory */
	uint32_t region_first, region_count;
	uint64_t region_max, quota;
	/* storage */
	uint32_t nr_volumes;
	struct cap_volume volumes[CAP_MAX_VOLUMES];
};

/* The bytes the signature covers (everything but it) into buf (CAP_MAX_LEN bytes); returns
 * their length. The caller appends the signature. */
size_t cap_body_put(void *buf, const struct cap *c);
/* Decode and check every field of a whole capability (its signature is not checked here:
 * cap_key_verify does that): 0, or -1 with err saying what is wrong. */
int cap_get(const void *buf, size_t len, struct cap *c, char *err, size_t errlen);
/* The length a capability of this kind and volume count has (0: not a valid shape). */
size_t cap_len(const struct cap *c);

/* Time checks against now (Unix seconds): 0, or -1 with err ("expired 12 s ago", "issued
 * in the future"). */
int cap_check_time(const struct cap *c, uint64_t now, char *err, size_t errlen);
/* A storage capability's grant: rights on volume vol, or on every volume when vol is NULL
 * (the rest of c as it was). */
void cap_storage_grant(struct cap *c, const char *vol, uint32_t rights);
/* The rights c grants on volume name (0: none). */
uint32_t cap_volume_rights(const struct cap *c, const char *name);
/* Whether vRegion index is covered. */
bool cap_covers_region(const struct cap *c, uint32_t index);

/* "memory", "storage"; the names of the rights in r, comma-separated, into buf. */
const char *cap_kind_name(unsigned kind);
const char *cap_rights_text(unsigned kind, uint32_t r, char *buf, size_t len);
/* The current wall-clock time in Unix seconds (capabilities expire by the wall clock, as
 * Kerberos tickets do: the hosts' clocks must agree within CAP_CLOCK_SKEW). */
uint64_t cap_now(void);

#endif
