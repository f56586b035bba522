/* fdt.c: flattened device tree (v16/v17) validation and read-only lookups. */
#include "fdt.h"

#define TOK_BEGIN_NODE 1u
#define TOK_END_NODE   2u
#define TOK_PROP       3u
#define TOK_NOP	       4u
#define TOK_END	       9u

#define LAST_COMP_MAX 17u

static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* Decode the token at off: its type and the offset of the token after it. Every byte
 * it covers is checked to lie in the structure block, and a property's name offset to
 * point at a NUL-terminated string inside the strings block. */
static int token(const struct gfdt *f, uint32_t off, uint32_t *tok, uint32_t *next)
{
	uint64_t pos = off, room;

	if (off % 4 || pos + 4 > f->struct_size)
		return -GFDT_ERR_STRUCT;
	*tok = gfdt_be32(f->structs + pos);
	pos += 4;
	switch (*tok) {
	case TOK_BEGIN_NODE: {
		size_t n;

		room = f->struct_size - pos;
		n = bounded_len((const char *)f->structs + pos, room);
		if (n == room)
			return -GFDT_ERR_STRUCT;
		pos += (n + 1 + 3) & ~(uint64_t)3;
		break;
	}
	case TOK_PROP: {
		uint32_t len, nameoff;

		if (pos + 8 > f->struct_size)
			return -GFDT_ERR_STRUCT;
		len = gfdt_be32(f->structs + pos);
		nameoff = gfdt_be32(f->structs + pos + 4);
		pos += 8;
		if (len > f->struct_size - pos)
			return -GFDT_ERR_STRUCT;
		if (nameoff >= f->strings_size ||
		    bounded_len(f->strings + nameoff, f->strings_size - nameoff) ==
			    f->strings_size - nameoff)
			return -GFDT_ERR_STRINGS;
		pos += ((uint64_t)len + 3) & ~(uint64_t)3;
		break;
	}
	case TOK_END_NODE:
	case TOK_NOP:
	case TOK_END:
		break;
	default:
		return -GFDT_ERR_STRUCT;
	}
	if (pos > f->struct_size)
		return -GFDT_ERR_STRUCT;
	*next = (uint32_t)pos;
	return 0;
}

/* The whole structure block: NOP* BEGIN(root) ... END_NODE NOP* END, properties of a
 * node before its subnodes, nesting balanced and bounded. */
static int validate_structure(const struct gfdt *f)
{
	uint32_t off = 0, tok, next;
	int depth = 0, err;
	bool root_seen = false, after_child = false;

	for (;;) {
		err = token(f, off, &tok, &next);
		if (err)
			return err;
		switch (tok) {
		case TOK_BEGIN_NODE:
			if (root_seen && depth == 0)
				return -GFDT_ERR_STRUCT; /* a second root */
			if (++depth > GFDT_MAX_DEPTH)
				return -GFDT_ERR_DEPTH;
			root_seen = true;
			after_child = false;
			break;
		case TOK_END_NODE:
			if (depth == 0)
				return -GFDT_ERR_STRUCT;
			depth--;
			after_child = true;
			break;
		case TOK_PROP:
			if (depth == 0 || after_child)
				return -GFDT_ERR_STRUCT;
			break;
		case TOK_NOP:
			break;
		case TOK_END:
			if (!root_seen || depth)
				return -GFDT_ERR_STRUCT;
			return 0;
		}
		off = next;
	}
}

int gfdt_init(struct gfdt *f, const void *blob, uint64_t buf_size)
{
	const uint8_t *b = blob;
	uint32_t totalsize, off_struct, off_strings, off_rsv, version, last_comp;
	uint32_t size_strings, size_struct;

	f->blob = b;
	f->totalsize = 0;
	f->structs = NULL;
	f->struct_size = 0;
	f->strings = NULL;
	f->strings_size = 0;
	if (buf_size < GFDT_HEADER_SIZE)
		return -GFDT_ERR_SIZE;
	if (gfdt_be32(b) != GFDT_MAGIC)
		return -GFDT_ERR_MAGIC;
	totalsize = gfdt_be32(b + 4);
	off_struct = gfdt_be32(b + 8);
	off_strings = gfdt_be32(b + 12);
	off_rsv = gfdt_be32(b + 16);
	version = gfdt_be32(b + 20);
	last_comp = gfdt_be32(b + 24);
	size_strings = gfdt_be32(b + 32);
	size_struct = gfdt_be32(b + 36);
	if (version < 16 || last_comp > LAST_COMP_MAX || last_comp > version)
		return -GFDT_ERR_VERSION;
	if (totalsize < GFDT_HEADER_SIZE || totalsize > buf_size)
		return -GFDT_ERR_SIZE;
	if (version < 17) {
		if (off_struct > totalsize)
			return -GFDT_ERR_LAYOUT;
		size_struct = totalsize - off_struct; /* v16 has no size_dt_struct */
	}
	if (off_struct < GFDT_HEADER_SIZE || off_struct % 4 ||
	    (uint64_t)off_struct + size_struct > totalsize)
		return -GFDT_ERR_LAYOUT;
	if (off_strings < GFDT_HEADER_SIZE || (uint64_t)off_strings + size_strings > totalsize)
		return -GFDT_ERR_LAYOUT;
	if (off_rsv < GFDT_HEADER_SIZE || off_rsv % 8 || (uint64_t)off_rsv + 16 > totalsize)
		return -GFDT_ERR_LAYOUT;
	f->totalsize = totalsize;
	f->structs = b + off_struct;
	f->struct_size = size_struct;
	f->strings = (const char *)b + off_strings;
	f->strings_size = size_strings;
	return validate_structure(f);
}

const char *gfdt_strerror(int err)
{
	switch (-err) {
	case 0:
		return "no error";
	case GFDT_ERR_NOTFOUND:
		return "not found";
	case GFDT_ERR_MAGIC:
		return "bad magic (not a device tree)";
	case GFDT_ERR_VERSION:
		return "unsupported version";
	case GFDT_ERR_SIZE:
		return "bad total size";
	case GFDT_ERR_LAYOUT:
		return "a block lies outside the tree or is misaligned";
	case GFDT_ERR_STRUCT:
		return "malformed structure block";
	case GFDT_ERR_STRINGS:
		return "property name outside the strings block";
	case GFDT_ERR_DEPTH:
		return "nodes nested too deeply";
	case GFDT_ERR_BADVALUE:
		return "bad property value";
	default:
		return "unknown error";
	}
}

static bool is_node(const struct gfdt *f, int node)
{
	uint32_t tok, next;

	return node >= 0 && !token(f, (uint32_t)node, &tok, &next) && tok == TOK_BEGIN_NODE;
}

int gfdt_root(const struct gfdt *f)
{
	uint32_t off = 0, tok, next;

	for (;;) {
		if (token(f, off, &tok, &next))
			return -GFDT_ERR_STRUCT;
		if (tok == TOK_BEGIN_NODE)
			return (int)off;
		if (tok != TOK_NOP)
			return -GFDT_ERR_STRUCT;
		off = next;
	}
}

int gfdt_next_node(const struct gfdt *f, int node, int *depth)
{
	uint32_t off, tok, next;
	int d = 0;

	if (!is_node(f, node))
		return -GFDT_ERR_BADVALUE;
	token(f, (uint32_t)node, &tok, &off);
	for (;;) {
		if (token(f, off, &tok, &next))
			return -GFDT_ERR_STRUCT;
		if (tok == TOK_BEGIN_NODE) {
			if (depth)
				*depth += d + 1;
			return (int)off;
		}
		if (tok == TOK_END_NODE)
			d--;
		else if (tok == TOK_END)
			return -GFDT_ERR_NOTFOUND;
		off = next;
	}
}

int gfdt_first_child(const struct gfdt *f, int node)
{
	int d = 0, n = gfdt_next_node(f, node, &d);

	if (n < 0)
		return n;
	return d == 1 ? n : -GFDT_ERR_NOTFOUND;
}

int gfdt_next_sibling(const struct gfdt *f, int node)
{
	int d = 0, n = node;

	for (;;) {
		n = gfdt_next_node(f, n, &d);
		if (n < 0)
			return n;
		if (d < 0)
			return -GFDT_ERR_NOTFOUND;
		if (d == 0)
			return n;
	}
}

const char *gfdt_name(const struct gfdt *f, int node)
{
	if (!is_node(f, node))
		return NULL;
	return (const char *)f->structs + node + 4;
}

bool gfdt_name_is(const char *name, const char *base)
{
	while (*base && *name == *base) {
		name++;
		base++;
	}
	return !*base && (!*name || *name == '@');
}

static bool subnode_matches(const char *node_name, const char *name, size_t len)
{
	bool has_at = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (node_name[i] != name[i])
			return false;
		if (name[i] == '@')
			has_at = true;
	}
	return !node_name[i] || (!has_at && node_name[i] == '@');
}

static int subnode_len(const struct gfdt *f, int parent, const char *name, size_t len)
{
	int n;

	for (n = gfdt_first_child(f, parent); n >= 0; n = gfdt_next_sibling(f, n)) {
		if (subnode_matches(gfdt_name(f, n), name, len))
			return n;
	}
	return n;
}

int gfdt_subnode(const struct gfdt *f, int parent, const char *name)
{
	size_t len = 0;

	while (name[len])
		len++;
	return subnode_len(f, parent, name, len);
}

int gfdt_path(const struct gfdt *f, const char *path)
{
	int node = gfdt_root(f);

	if (path[0] != '/')
		return -GFDT_ERR_BADVALUE;
	while (node >= 0) {
		size_t len = 0;

		while (*path == '/')
			path++;
		if (!*path)
			return node;
		while (path[len] && path[len] != '/')
			len++;
		node = subnode_len(f, node, path, len);
		path += len;
	}
	return node;
}

const void *gfdt_getprop(const struct gfdt *f, int node, const char *name, int *len)
{
	uint32_t off, tok, next;

	if (!is_node(f, node)) {
		*len = -GFDT_ERR_BADVALUE;
		return NULL;
	}
	token(f, (uint32_t)node, &tok, &off);
	for (;;) {
		if (token(f, off, &tok, &next)) {
			*len = -GFDT_ERR_STRUCT;
			return NULL;
		}
		if (tok == TOK_PROP) {
			uint32_t plen = gfdt_be32(f->structs + off + 4);
			uint32_t nameoff = gfdt_be32(f->structs + off + 8);

			if (str_eq(f->strings + nameoff, name)) {
				*len = (int)plen;
				return f->structs + off + 12;
			}
		} else if (tok != TOK_NOP) {
			*len = -GFDT_ERR_NOTFOUND;
			return NULL;
		}
		off = next;
	}
}

int gfdt_prop_u32(const struct gfdt *f, int node, const char *name, uint32_t *out)
{
	int len;
	const void *p = gfdt_getprop(f, node, name, &len);

	if (!p)
		return len;
	if (len != 4)
		return -GFDT_ERR_BADVALUE;
	*out = gfdt_be32(p);
	return 0;
}

const char *gfdt_prop_string(const struct gfdt *f, int node, const char *name)
{
	int len;
	const char *p = gfdt_getprop(f, node, name, &len);

	if (!p || len < 1 || bounded_len(p, (size_t)len) != (size_t)len - 1)
		return NULL;
	return p;
}

bool gfdt_prop_has_string(const struct gfdt *f, int node, const char *name, const char *str)
{
	int len;
	const char *p = gfdt_getprop(f, node, name, &len);
	size_t pos = 0;

	if (!p)
		return false;
	while (pos < (size_t)len) {
		size_t n = bounded_len(p + pos, (size_t)len - pos);

		if (n == (size_t)len - pos)
			return false; /* unterminated last string */
		if (str_eq(p + pos, str))
			return true;
		pos += n + 1;
	}
	return false;
}
