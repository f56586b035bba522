/* cap.c: the capability's encoding and strict decoding, and the checks on its fields. */
#include "cap.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/proto/wire.h"

size_t cap_len(const struct cap *c)
{
	if (c->kind == CAP_KIND_MEMORY)
		return CAP_MEM_LEN;
	if (c->kind == CAP_KIND_STORAGE && c->nr_volumes <= CAP_MAX_VOLUMES)
		return CAP_HEAD_LEN + 8 + (size_t)c->nr_volumes * CAP_VOL_ENTRY_LEN + CAP_SIG_LEN;
	return 0;
}

size_t cap_body_put(void *buf, const struct cap *c)
{
	uint8_t *b = buf;
	size_t n = CAP_HEAD_LEN;

	wire_put_le32(b, CAP_MAGIC);
	wire_put_le16(b + 4, CAP_VERSION);
	wire_put_le16(b + 6, c->kind);
	wire_put_le32(b + 8, c->rights);
	wire_put_le32(b + 12, c->flags);
	wire_put_le64(b + 16, c->vnode);
	wire_put_le64(b + 24, c->issued);
	wire_put_le64(b + 32, c->expires);
	wire_put_le64(b + 40, c->serial);
	memcpy(b + 48, c->signer, 8);
	memcpy(b + 56, c->holder, CAP_KEY_LEN);
	if (c->kind == CAP_KIND_MEMORY) {
		wire_put_le32(b + n, c->region_first);
		wire_put_le32(b + n + 4, c->region_count);
		wire_put_le64(b + n + 8, c->region_max);
		wire_put_le64(b + n + 16, c->quota);
		return n + CAP_MEM_BODY_LEN;
	}
	wire_put_le32(b + n, c->nr_volumes);
	wire_put_le32(b + n + 4, 0);
	n += 8;
	for (uint32_t i = 0; i < c->nr_volumes && i < CAP_MAX_VOLUMES; i++) {
		wire_name_put(b + n, CAP_VOL_NAME_LEN, c->volumes[i].name);
		wire_put_le32(b + n + CAP_VOL_NAME_LEN, c->volumes[i].rights);
		wire_put_le32(b + n + CAP_VOL_NAME_LEN + 4, 0);
		n += CAP_VOL_ENTRY_LEN;
	}
	return n;
}

static int bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "malformed capability: %s", why);
	return -1;
}

/* The storage body at b (len bytes from the head's end, signature included). */
static int storage_get(const uint8_t *b, size_t len, struct cap *c, char *err, size_t errlen)
{
	c->nr_volumes = wire_get_le32(b);
	if (wire_get_le32(b + 4))
		return bad(err, errlen, "reserved bytes are not zero");
	if (c->nr_volumes > CAP_MAX_VOLUMES)
		return bad(err, errlen, "more volumes than a capability holds");
	if (len != 8 + (size_t)c->nr_volumes * CAP_VOL_ENTRY_LEN + CAP_SIG_LEN)
		return bad(err, errlen, "its length does not match its volume count");
	if ((c->flags & CAP_ALL_VOLUMES) && c->nr_volumes)
		return bad(err, errlen, "it names volumes and all volumes at once");
	if (!(c->flags & CAP_ALL_VOLUMES) && (c->rights & CAP_STOR_LIST))
		return bad(err, errlen, "LIST is granted only with all volumes");
	for (uint32_t i = 0; i < c->nr_volumes; i++) {
		const uint8_t *e = b + 8 + (size_t)i * CAP_VOL_ENTRY_LEN;
		struct cap_volume *v = &c->volumes[i];

		if (wire_name_get(e, CAP_VOL_NAME_LEN, v->name) ||
		    !wire_name_ok(v->name, CAP_VOL_NAME_LEN, false))
			return bad(err, errlen, "a volume name is not a volume name");
		v->rights = wire_get_le32(e + CAP_VOL_NAME_LEN);
		if (wire_get_le32(e + CAP_VOL_NAME_LEN + 4))
			return bad(err, errlen, "reserved bytes are not zero");
		if (!v->rights || (v->rights & ~c->rights))
			return bad(err, errlen, "a volume's rights are not among the capability's");
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(c->volumes[j].name, v->name))
				return bad(err, errlen, "a volume is named twice");
	}
	return 0;
}

int cap_get(const void *buf, size_t len, struct cap *c, char *err, size_t errlen)
{
	const uint8_t *b = buf;

	memset(c, 0, sizeof(*c));
	if (len < CAP_HEAD_LEN + 8 + CAP_SIG_LEN || len > CAP_MAX_LEN)
		return bad(err, errlen, "wrong length");
	if (wire_get_le32(b) != CAP_MAGIC)
		return bad(err, errlen, "bad magic");
	if (wire_get_le16(b + 4) != CAP_VERSION)
		return bad(err, errlen, "unsupported version");
	c->kind = wire_get_le16(b + 6);
	c->rights = wire_get_le32(b + 8);
	c->flags = wire_get_le32(b + 12);
	c->vnode = wire_get_le64(b + 16);
	c->issued = wire_get_le64(b + 24);
	c->expires = wire_get_le64(b + 32);
	c->serial = wire_get_le64(b + 40);
	memcpy(c->signer, b + 48, 8);
	memcpy(c->holder, b + 56, CAP_KEY_LEN);
	if (c->expires <= c->issued || c->expires - c->issued > CAP_MAX_LIFETIME)
		return bad(err, errlen, "its lifetime is empty or longer than 7 days");
	if (c->kind == CAP_KIND_MEMORY) {
		const uint8_t *m = b + CAP_HEAD_LEN;

		if (len != CAP_MEM_LEN)
			return bad(err, errlen, "wrong length for a memory capability");
		if (c->rights & ~CAP_MEM_ALL || !c->rights || c->flags)
			return bad(err, errlen, "unknown rights or flags");
		if (!c->vnode)
			return bad(err, errlen, "a memory capability must name a vNode");
		c->region_first = wire_get_le32(m);
		c->region_count = wire_get_le32(m + 4);
		c->region_max = wire_get_le64(m + 8);
		c->quota = wire_get_le64(m + 16);
		if (!c->region_count || c->region_first > UINT32_MAX - (c->region_count - 1))
			return bad(err, errlen, "its vRegion range is empty or wraps");
		if (c->region_max % 4096 || c->quota % 4096)
			return bad(err, errlen, "sizes are not multiples of 4096");
		return 0;
	}
	if (c->kind != CAP_KIND_STORAGE)
		return bad(err, errlen, "unknown kind");
	if (c->rights & ~CAP_STOR_ALL || !c->rights || c->flags & ~CAP_ALL_VOLUMES)
		return bad(err, errlen, "unknown rights or flags");
	return storage_get(b + CAP_HEAD_LEN, len - CAP_HEAD_LEN, c, err, errlen);
}

int cap_check_time(const struct cap *c, uint64_t now, char *err, size_t errlen)
{
	if (now >= c->expires) {
		snprintf(err, errlen, "capability %016llx expired %llu s ago",
			 (unsigned long long)c->serial, (unsigned long long)(now - c->expires));
		return -1;
	}
	if (c->issued > now + CAP_CLOCK_SKEW) {
		snprintf(err, errlen,
			 "capability %016llx is issued %llu s in the future (clocks disagree?)",
			 (unsigned long long)c->serial, (unsigned long long)(c->issued - now));
		return -1;
	}
	return 0;
}

void cap_storage_grant(struct cap *c, const char *vol, uint32_t rights)
{
	c->kind = CAP_KIND_STORAGE;
	c->rights = rights;
	c->flags = vol ? 0 : CAP_ALL_VOLUMES;
	c->nr_volumes = vol ? 1 : 0;
	if (vol) {
		snprintf(c->volumes[0].name, sizeof(c->volumes[0].name), "%s", vol);
		c->volumes[0].rights = rights;
	}
}

uint32_t cap_volume_rights(const struct cap *c, const char *name)
{
	if (c->kind != CAP_KIND_STORAGE)
		return 0;
	if (c->flags & CAP_ALL_VOLUMES)
		return c->rights;
	for (uint32_t i = 0; i < c->nr_volumes; i++)
		if (!strcmp(c->volumes[i].name, name))
			return c->volumes[i].rights;
	return 0;
}

bool cap_covers_region(const struct cap *c, uint32_t index)
{
	return c->kind == CAP_KIND_MEMORY && index >= c->region_first &&
	       index - c->region_first < c->region_count;
}

const char *cap_kind_name(unsigned kind)
{
	return kind == CAP_KIND_MEMORY ? "memory" : kind == CAP_KIND_STORAGE ? "storage" : "?";
}

const char *cap_rights_text(unsigned kind, uint32_t r, char *buf, size_t len)
{
	static const char *const mem[] = {"open", "create",  "read",  "write", "close",
					  "fill", "release", "state", "stat"};
	static const char *const stor[] = {"read",   "write",  "stat", "create",
					   "resize", "delete", "list"};
	const char *const *names = kind == CAP_KIND_MEMORY ? mem : stor;
	size_t nr = kind == CAP_KIND_MEMORY ? 9 : 7, n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nr && n < len; i++) {
		int w;

		if (!(r & (1U << i)))
			continue;
		w = snprintf(buf + n, len - n, "%s%s", n ? "," : "", names[i]);
		if (w > 0)
			n += (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

uint64_t cap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}
