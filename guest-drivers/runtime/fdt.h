/* fdt.h: a minimal read-only flattened device tree parser that validates before use. */
#ifndef GUEST_FDT_H
#define GUEST_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GFDT_MAGIC	 0xd00dfeedu
#define GFDT_MAX_DEPTH	 32
#define GFDT_HEADER_SIZE 40

/* Error codes (negative returns). */
enum {
	GFDT_ERR_NOTFOUND = 1,
	GFDT_ERR_MAGIC,
	GFDT_ERR_VERSION,
	GFDT_ERR_SIZE,	   /* totalsize too small or beyond the buffer */
	GFDT_ERR_LAYOUT,   /* a block lies outside the tree or is misaligned */
	GFDT_ERR_STRUCT,   /* malformed structure block (tokens, nesting, names) */
	GFDT_ERR_STRINGS,  /* a property name offset is outside the strings block */
	GFDT_ERR_DEPTH,	   /* nodes nested deeper than GFDT_MAX_DEPTH */
	GFDT_ERR_BADVALUE, /* a property has the wrong length or format */
};

/* A validated tree. Node handles are offsets of their BEGIN_NODE token in the
 * structure block (>= 0); negative values are -GFDT_ERR_*. */
struct gfdt {
	const uint8_t *blob;
	uint32_t totalsize;
	const uint8_t *structs;
	uint32_t struct_size;
	const char *strings;
	uint32_t strings_size;
};

/* Check the header and walk the whole structure block once (every token, name and
 * property inside its block, nesting balanced, a single root, FDT_END last). buf_size
 * is how many bytes may be read at blob. Returns 0 or -GFDT_ERR_*. */
int gfdt_init(struct gfdt *f, const void *blob, uint64_t buf_size);
const char *gfdt_strerror(int err);

int gfdt_root(const struct gfdt *f);
/* The next node in depth-first order after node, with *depth updated by the change in
 * nesting (+1 for a child); -GFDT_ERR_NOTFOUND at the end of the tree. */
int gfdt_next_node(const struct gfdt *f, int node, int *depth);
int gfdt_first_child(const struct gfdt *f, int node);
int gfdt_next_sibling(const struct gfdt *f, int node);
const char *gfdt_name(const struct gfdt *f, int node);

/* A child whose name equals name, or whose name before '@' equals name if name has
 * no '@' ("cpus" matches "cpus", "memory" matches "memory@0"). */
int gfdt_subnode(const struct gfdt *f, int parent, const char *name);
/* An absolute path such as "/chosen" or "/cpus/cpu@0". */
int gfdt_path(const struct gfdt *f, const char *path);
/* True if node's name is base or starts with base followed by '@'. */
bool gfdt_name_is(const char *name, const char *base);

/* Property value and length, or NULL (with *len = -GFDT_ERR_*). */
const void *gfdt_getprop(const struct gfdt *f, int node, const char *name, int *len);
/* A 4-byte big-endian property. */
int gfdt_prop_u32(const struct gfdt *f, int node, const char *name, uint32_t *out);
/* A NUL-terminated string property (NULL if absent or not terminated). */
const char *gfdt_prop_string(const struct gfdt *f, int node, const char *name);
/* True if the string-list property contains str. */
bool gfdt_prop_has_string(const struct gfdt *f, int node, const char *name, const char *str);

static inline uint32_t gfdt_be32(const void *p)
{
	const uint8_t *b = p;

	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Read cells 32-bit big-endian cells (1 or 2) at p as one number. */
static inline uint64_t gfdt_read_cells(const void *p, uint32_t cells)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (uint32_t i = 0; i < cells; i++)
		v = (v << 32) | gfdt_be32(b + 4 * i);
	return v;
}

#endif
