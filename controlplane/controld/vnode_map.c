/* vnode_map.c: a vNode's vRegion copies: changes, --region-owners' text, lego-vmm's options. */
#include "vnode_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vnode_map_find(const struct vnode_map *m, const char *name)
{
	for (int i = 0; i < m->nr_mmons; i++)
		if (!strcmp(m->mmon[i], name))
			return i;
	return -1;
}

int vnode_map_server(struct vnode_map *m, const char *name, const char *addr)
{
	int i = vnode_map_find(m, name);

	if (i < 0) {
		if (m->nr_mmons == VMAP_MAX_SERVERS)
			return -1;
		i = m->nr_mmons++;
		snprintf(m->mmon[i], sizeof(m->mmon[i]), "%s", name);
	}
	snprintf(m->mmon_addr[i], sizeof(m->mmon_addr[i]), "%s", addr);
	return i;
}

bool vnode_map_has_copy(const struct vnode_map *m, int region, int server)
{
	for (int k = 0; k < m->nr_copies[region]; k++)
		if (m->copy[region][k] == server)
			return true;
	return false;
}

int vnode_map_copies_on(const struct vnode_map *m, int server)
{
	int n = 0;

	for (int r = 0; r < m->nr_regions; r++)
		n += vnode_map_has_copy(m, r, server);
	return n;
}

int vnode_map_add_copy(struct vnode_map *m, int region, int server)
{
	if (region < 0 || region >= m->nr_regions || server < 0 || server >= m->nr_mmons ||
	    vnode_map_has_copy(m, region, server) || m->nr_copies[region] == VMAP_MAX_COPIES)
		return -1;
	m->copy[region][m->nr_copies[region]++] = (uint8_t)server;
	return 0;
}

int vnode_map_drop_copy(struct vnode_map *m, int region, int server)
{
	uint8_t *c = m->copy[region];
	int n;

	if (region < 0 || region >= m->nr_regions)
		return -1;
	n = m->nr_copies[region];
	for (int k = 0; k < n && n > 1; k++) {
		if (c[k] != server)
			continue;
		memmove(c + k, c + k + 1, (size_t)(n - k - 1));
		m->nr_copies[region]--;
		return 0;
	}
	return -1;
}

void vnode_map_compact(struct vnode_map *m)
{
	int renum[VMAP_MAX_SERVERS], n = 0;

	for (int i = 0; i < m->nr_mmons; i++) {
		renum[i] = vnode_map_copies_on(m, i) ? n++ : -1;
		if (renum[i] >= 0 && renum[i] != i) {
			memcpy(m->mmon[renum[i]], m->mmon[i], sizeof(m->mmon[i]));
			memcpy(m->mmon_addr[renum[i]], m->mmon_addr[i], sizeof(m->mmon_addr[i]));
		}
	}
	for (int r = 0; r < m->nr_regions; r++)
		for (int k = 0; k < m->nr_copies[r]; k++)
			m->copy[r][k] = (uint8_t)renum[m->copy[r][k]];
	for (int i = n; i < m->nr_mmons; i++) {
		m->mmon[i][0] = '\0';
		m->mmon_addr[i][0] = '\0';
	}
	m->nr_mmons = n;
}

uint64_t vnode_map_region_bytes(int r, int nr_regions, uint64_t ram, uint64_t region_size)
{
	return r == nr_regions - 1 ? ram - (uint64_t)r * region_size : region_size;
}

int vnode_map_format_owners(const struct vnode_map *m, char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return -1;
	buf[0] = '\0';
	for (int r = 0; r < m->nr_regions; r++)
		for (int k = 0; k < m->nr_copies[r]; k++) {
			int w = snprintf(buf + n, len - n, "%s%u",
					 k   ? "+"
					 : r ? ","
					     : "",
					 m->copy[r][k]);

			if (w < 0 || (size_t)w >= len - n)
				return -1;
			n += (size_t)w;
		}
	return (int)n;
}

/* A server index of 1..2 digits below nr_mmons at *p; advances *p. */
static int index_at(const char **p, int nr_mmons)
{
	int v = 0, digits = 0;

	while (**p >= '0' && **p <= '9' && digits < 3) {
		v = v * 10 + (**p - '0');
		(*p)++;
		digits++;
	}
	if (!digits || digits > 2 || (digits == 2 && v < 10) || v >= nr_mmons)
		return -1;
	return v;
}

int vnode_map_parse_owners(struct vnode_map *m, const char *text)
{
	const char *p = text;

	m->nr_regions = 0;
	if (!*p)
		return 0;
	for (;;) {
		int r = m->nr_regions, s;

		if (r == VMAP_MAX_REGIONS)
			return -1;
		m->nr_copies[r] = 0;
		m->nr_regions++;
		for (;;) {
			s = index_at(&p, m->nr_mmons);
			if (s < 0 || vnode_map_add_copy(m, r, s))
				return -1;
			if (*p != '+')
				break;
			p++;
		}
		if (!*p)
			return 0;
		if (*p++ != ',')
			return -1;
	}
}

/* Is a (at i of argc) an option of the map, and does its value follow it? */
static int map_option(const char *a, uint32_t i, uint32_t argc)
{
	static const char *const names[] = {"--mmon", "--region-owners"};

	for (int k = 0; k < 2; k++) {
		size_t n = strlen(names[k]);

		if (!strncmp(a, names[k], n) && a[n] == '=')
			return 1; /* the value is in it */
		if (!strcmp(a, names[k]))
			return i + 1 < argc ? 2 : 1;
	}
	return 0;
}

int vnode_map_rewrite_args(const struct vnode_map *m, const char *args, uint32_t argc, uint32_t len,
			   char **out, uint32_t *out_argc, uint32_t *out_len)
{
	size_t cap = (size_t)len + (size_t)m->nr_mmons * (CP_ADDR_LEN + 8) + 32 +
		     (size_t)m->nr_regions * (VMAP_MAX_COPIES * 3 + 1);
	char *buf = malloc(cap), *owners = malloc(cap);
	const char *a = args;
	size_t n = 0;
	uint32_t count = 0;
	bool placed = false;

	if (!buf || !owners || vnode_map_format_owners(m, owners, cap) < 0)
		goto fail;
#define PUT(s)                             \
	do {                               \
		size_t l_ = strlen(s) + 1; \
		if (n + l_ > cap)          \
			goto fail;         \
		memcpy(buf + n, s, l_);    \
		n += l_;                   \
		count++;                   \
	} while (0)
#define PUT_MAP()                                          \
	do {                                               \
		for (int s_ = 0; s_ < m->nr_mmons; s_++) { \
			PUT("--mmon");                     \
			PUT(m->mmon_addr[s_]);             \
		}                                          \
		PUT("--region-owners");                    \
		PUT(owners);                               \
		placed = true;                             \
	} while (0)
	for (uint32_t i = 0; i < argc; i++) {
		int skip = map_option(a, i, argc);

		if (skip && !placed)
			PUT_MAP();
		if (!skip)
			PUT(a);
		a += strlen(a) + 1;
		if (skip == 2) {
			a += strlen(a) + 1;
			i++;
		}
	}
	if (!placed)
		PUT_MAP();
#undef PUT_MAP
#undef PUT
	if (count > CP_MAX_ARGS || n > CP_ARGS_MAX)
		goto fail;
	free(owners);
	*out = buf;
	*out_argc = count;
	*out_len = (uint32_t)n;
	return 0;
fail:
	free(buf);
	free(owners);
	return -1;
}
