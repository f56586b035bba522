/* boot_info.c: /chosen, /memory@*, /cpus and virtio-mmio nodes from the device tree. */
#include "boot_info.h"

#include <stdbool.h>

#include "fdt.h"
#include "fmt.h"
#include "lib/proto/lego_guest_abi.h"

#define DEFAULT_ADDR_CELLS 2 /* device tree spec defaults when a node says nothing */
#define DEFAULT_SIZE_CELLS 1

struct cells {
	uint32_t addr;
	uint32_t size;
};

static int node_cells(const struct gfdt *f, int node, struct cells *c, char *err, size_t errlen)
{
	int r;

	c->addr = DEFAULT_ADDR_CELLS;
	c->size = DEFAULT_SIZE_CELLS;
	r = gfdt_prop_u32(f, node, "#address-cells", &c->addr);
	if (r && r != -GFDT_ERR_NOTFOUND)
		goto bad;
	r = gfdt_prop_u32(f, node, "#size-cells", &c->size);
	if (r && r != -GFDT_ERR_NOTFOUND)
		goto bad;
	if (c->addr >= 1 && c->addr <= 2 && c->size <= 2)
		return 0;
bad:
	fmt_snprintf(err, errlen, "node '%s': unsupported #address-cells/#size-cells",
		     gfdt_name(f, node));
	return -1;
}

/* Append the (address, size) pairs of node's reg to out[*nr] (at most max). */
static int read_reg(const struct gfdt *f, int node, const struct cells *pc,
		    struct boot_info_range *out, int *nr, int max, char *err, size_t errlen)
{
	uint32_t entry = 4 * (pc->addr + pc->size);
	const uint8_t *p;
	int len;

	p = gfdt_getprop(f, node, "reg", &len);
	if (!p || len <= 0 || pc->size == 0 || (uint32_t)len % entry) {
		fmt_snprintf(err, errlen, "node '%s': missing or malformed reg (%d bytes)",
			     gfdt_name(f, node), p ? len : 0);
		return -1;
	}
	for (uint32_t off = 0; off < (uint32_t)len; off += entry) {
		struct boot_info_range r = {
			.base = gfdt_read_cells(p + off, pc->addr),
			.size = gfdt_read_cells(p + off + 4 * pc->addr, pc->size),
		};

		if (*nr >= max) {
			fmt_snprintf(err, errlen, "node '%s': more than %d ranges",
				     gfdt_name(f, node), max);
			return -1;
		}
		if (!r.size || r.base + r.size < r.base) {
			fmt_snprintf(err, errlen, "node '%s': empty or wrapping range 0x%lx+0x%lx",
				     gfdt_name(f, node), r.base, r.size);
			return -1;
		}
		out[(*nr)++] = r;
	}
	return 0;
}

static int parse_chosen(const struct gfdt *f, struct boot_info *bi, char *err, size_t errlen)
{
	int chosen = gfdt_path(f, "/chosen"), r;

	if (chosen < 0) {
		fmt_snprintf(err, errlen, "device tree has no /chosen node");
		return -1;
	}
	bi->bootargs = gfdt_prop_string(f, chosen, "bootargs");
	if (!bi->bootargs) {
		int len;

		if (gfdt_getprop(f, chosen, "bootargs", &len)) {
			fmt_snprintf(err, errlen,
				     "/chosen/bootargs is not a NUL-terminated string");
			return -1;
		}
		bi->bootargs = "";
	}
	r = gfdt_prop_u32(f, chosen, "lego,abi-version", &bi->abi_version);
	if (r) {
		fmt_snprintf(err, errlen, "/chosen/lego,abi-version: %s", gfdt_strerror(r));
		return -1;
	}
	if (bi->abi_version != LEGO_GUEST_ABI_VERSION) {
		fmt_snprintf(err, errlen, "VMM speaks guest ABI %u, this guest ABI %u",
			     bi->abi_version, LEGO_GUEST_ABI_VERSION);
		return -1;
	}
	r = gfdt_prop_u32(f, chosen, "lego,tsc-khz", &bi->tsc_khz);
	if (r == -GFDT_ERR_NOTFOUND)
		bi->tsc_khz = 0;
	else if (r) {
		fmt_snprintf(err, errlen, "/chosen/lego,tsc-khz: %s", gfdt_strerror(r));
		return -1;
	}
	return 0;
}

static int parse_memory(const struct gfdt *f, int root, const struct cells *rc,
			struct boot_info *bi, char *err, size_t errlen)
{
	for (int n = gfdt_first_child(f, root); n >= 0; n = gfdt_next_sibling(f, n)) {
		if (!gfdt_name_is(gfdt_name(f, n), "memory"))
			continue;
		if (read_reg(f, n, rc, bi->ram, &bi->nr_ram, BOOT_MAX_RAM, err, errlen))
			return -1;
	}
	if (!bi->nr_ram) {
		fmt_snprintf(err, errlen, "device tree has no /memory node");
		return -1;
	}
	/* Insertion sort by base, then no overlaps. */
	for (int i = 1; i < bi->nr_ram; i++) {
		struct boot_info_range r = bi->ram[i];
		int j = i;

		for (; j > 0 && bi->ram[j - 1].base > r.base; j--)
			bi->ram[j] = bi->ram[j - 1];
		bi->ram[j] = r;
	}
	bi->ram_total = 0;
	for (int i = 0; i < bi->nr_ram; i++) {
		if (i && bi->ram[i - 1].base + bi->ram[i - 1].size > bi->ram[i].base) {
			fmt_snprintf(err, errlen, "memory ranges at 0x%lx and 0x%lx overlap",
				     bi->ram[i - 1].base, bi->ram[i].base);
			return -1;
		}
		bi->ram_total += bi->ram[i].size;
	}
	return 0;
}

static int parse_cpus(const struct gfdt *f, struct boot_info *bi, char *err, size_t errlen)
{
	int cpus = gfdt_path(f, "/cpus");

	bi->nr_cpus = 0;
	if (cpus >= 0) {
		for (int n = gfdt_first_child(f, cpus); n >= 0; n = gfdt_next_sibling(f, n)) {
			if (gfdt_name_is(gfdt_name(f, n), "cpu"))
				bi->nr_cpus++;
		}
	}
	if (bi->nr_cpus < 1 || bi->nr_cpus > LEGO_MAX_VCPUS) {
		fmt_snprintf(err, errlen, "device tree lists %d cpus under /cpus (need 1..%d)",
			     bi->nr_cpus, LEGO_MAX_VCPUS);
		return -1;
	}
	return 0;
}

/* Every node (any depth) with compatible "virtio,mmio"; reg uses its parent's cells. */
static int parse_virtio(const struct gfdt *f, int root, struct boot_info *bi, char *err,
			size_t errlen)
{
	struct cells stack[GFDT_MAX_DEPTH + 1];
	int depth = 0, n = root;

	if (node_cells(f, root, &stack[0], err, errlen))
		return -1;
	for (;;) {
		n = gfdt_next_node(f, n, &depth);
		if (n == -GFDT_ERR_NOTFOUND || (n >= 0 && depth <= 0))
			return 0;
		if (n < 0) {
			fmt_snprintf(err, errlen, "device tree walk: %s", gfdt_strerror(n));
			return -1;
		}
		if (depth > GFDT_MAX_DEPTH) {
			fmt_snprintf(err, errlen, "device tree nested too deeply");
			return -1;
		}
		if (node_cells(f, n, &stack[depth], err, errlen))
			return -1;
		if (gfdt_prop_has_string(f, n, "compatible", "virtio,mmio") &&
		    read_reg(f, n, &stack[depth - 1], bi->virtio, &bi->nr_virtio, BOOT_MAX_VIRTIO,
			     err, errlen))
			return -1;
	}
}

int boot_info_parse(const void *fdt, uint64_t buf_size, struct boot_info *bi, char *err,
		    size_t errlen)
{
	struct gfdt f;
	struct cells rc;
	int r, root;

	*bi = (struct boot_info){0};
	r = gfdt_init(&f, fdt, buf_size);
	if (r) {
		fmt_snprintf(err, errlen, "invalid device tree: %s", gfdt_strerror(r));
		return -1;
	}
	root = gfdt_root(&f);
	if (root < 0) {
		fmt_snprintf(err, errlen, "device tree has no root node");
		return -1;
	}
	if (node_cells(&f, root, &rc, err, errlen))
		return -1;
	if (parse_chosen(&f, bi, err, errlen) || parse_memory(&f, root, &rc, bi, err, errlen) ||
	    parse_cpus(&f, bi, err, errlen) || parse_virtio(&f, root, bi, err, errlen))
		return -1;
	return 0;
}
