/* smon_rados.c: lego-smon's Ceph backend: a volume is striped over RADOS objects.
 *
 * Volume NAME's bytes [i * obj_size, (i + 1) * obj_size) live in object "lego.NAME.<i as
 * 16 hex digits>"; objects that were never written do not exist and read as zeros. The
 * volume directory is the omap of object "lego.directory": key NAME, value size and
 * obj_size (8 bytes each, little-endian). Deletes and shrinks remove data objects before
 * the directory changes, so a name created later never sees old data. */
#include <errno.h>
#include <rados/librados.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "smon_store.h"
#include "lib/proto/wire.h"

#define DIR_OID	  "lego.directory"
#define OID_LEN	  (5 + SP_VOL_LEN + 1 + 16 + 1)
#define MAX_PARTS 64 /* objects one request may touch: SP_MAX_IO / the smallest obj_size */

struct rados_be {
	rados_t cluster;
	rados_ioctx_t io;
	uint64_t obj_size; /* for new volumes */
	char pool[128];
};

static rados_ioctx_t io_of(struct smon_store *st)
{
	return ((struct rados_be *)st->be)->io;
}

static void oid_of(char *oid, const char *name, uint64_t index)
{
	snprintf(oid, OID_LEN, "lego.%s.%016llx", name, (unsigned long long)index);
}

/* The directory entry of name: 0, -ENOENT, or another -errno. */
static int dir_get(struct smon_store *st, const char *name, uint64_t *size, uint64_t *obj_size)
{
	rados_read_op_t op = rados_create_read_op();
	rados_omap_iter_t it = NULL;
	const char *keys[1] = {name};
	size_t klen[1] = {strlen(name)};
	int prval = 0, rc;

	if (!op)
		return -ENOMEM;
	rados_read_op_omap_get_vals_by_keys2(op, keys, 1, klen, &it, &prval);
	rc = rados_read_op_operate(op, io_of(st), DIR_OID, 0);
	if (!rc)
		rc = prval;
	if (!rc) {
		char *k = NULL, *val = NULL;
		size_t kl = 0, vl = 0;

		rc = rados_omap_get_next2(it, &k, &val, &kl, &vl);
		if (!rc && !k)
			rc = -ENOENT;
		else if (!rc && vl != 16)
			rc = -EIO;
		else if (!rc) {
			*size = wire_get_le64(val);
			*obj_size = wire_get_le64(val + 8);
		}
	}
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	return rc;
}

static int dir_set(struct smon_store *st, const char *name, uint64_t size, uint64_t obj_size)
{
	rados_write_op_t op = rados_create_write_op();
	char val[16];
	const char *keys[1] = {name}, *vals[1] = {val};
	size_t klen[1] = {strlen(name)}, vlen[1] = {16};
	int rc;

	if (!op)
		return -ENOMEM;
	wire_put_le64(val, size);
	wire_put_le64(val + 8, obj_size);
	rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
	rados_write_op_omap_set2(op, keys, vals, klen, vlen, 1);
	rc = rados_write_op_operate(op, io_of(st), DIR_OID, NULL, 0);
	rados_release_write_op(op);
	return rc;
}

static int dir_rm(struct smon_store *st, const char *name)
{
	rados_write_op_t op = rados_create_write_op();
	const char *keys[1] = {name};
	size_t klen[1] = {strlen(name)};
	int rc;

	if (!op)
		return -ENOMEM;
	rados_write_op_omap_rm_keys2(op, keys, klen, 1);
	rc = rados_write_op_operate(op, io_of(st), DIR_OID, NULL, 0);
	rados_release_write_op(op);
	return rc;
}

static int rados_load(struct smon_store *st, const char *name, struct smon_store_vol **out)
{
	struct smon_store_vol *v;
	uint64_t size, obj_size;
	int rc = dir_get(st, name, &size, &obj_size);

	if (rc)
		return rc;
	if (size % SP_SECTOR || size > SP_VOL_MAX || obj_size < SMON_OBJ_MIN ||
	    obj_size > SMON_OBJ_MAX || obj_size & (obj_size - 1)) {
		log_error("rados backend: directory entry of '%s' is damaged (size %llu, object "
			  "size %llu)",
			  name, (unsigned long long)size, (unsigned long long)obj_size);
		return -EIO;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->size = size;
	v->obj_size = obj_size;
	v->fd = v->dfd = -1;
	*out = v;
	return 0;
}

static void rados_unload(struct smon_store *st, struct smon_store_vol *v)
{
	(void)st;
	free(v);
}

static int rados_vol_create(struct smon_store *st, const char *name, uint64_t size)
{
	uint64_t s, o;
	int rc = dir_get(st, name, &s, &o);

	if (!rc)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	return dir_set(st, name, size, ((struct rados_be *)st->be)->obj_size);
}

/* Remove the objects holding bytes at and beyond `from` (the one containing `from` is cut
 * there). */
static int remove_from(struct smon_store *st, struct smon_store_vol *v, uint64_t from)
{
	uint64_t first = from / v->obj_size, end = (v->size + v->obj_size - 1) / v->obj_size;
	char oid[OID_LEN];
	int rc;

	if (from % v->obj_size && first < end) {
		oid_of(oid, v->name, first);
		rc = rados_trunc(io_of(st), oid, from % v->obj_size);
		if (rc && rc != -ENOENT)
			return rc;
		first++;
	}
	for (uint64_t i = first; i < end; i++) {
		oid_of(oid, v->name, i);
		rc = rados_remove(io_of(st), oid);
		if (rc && rc != -ENOENT)
			return rc;
	}
	return 0;
}

static int rados_destroy(struct smon_store *st, struct smon_store_vol *v)
{
	int rc = remove_from(st, v, 0);

	return rc ? rc : dir_rm(st, v->name);
}

static int rados_resize(struct smon_store *st, struct smon_store_vol *v, uint64_t size)
{
	if (size < v->size) {
		int rc = remove_from(st, v, size);

		if (rc)
			return rc;
	}
	return dir_set(st, v->name, size, v->obj_size);
}

static int rados_vol_list(struct smon_store *st, const char *after, struct stor_proto_vol_info *out,
			  uint32_t max, uint32_t *n, bool *more)
{
	rados_read_op_t op = rados_create_read_op();
	rados_omap_iter_t it = NULL;
	unsigned char pmore = 0;
	int prval = 0, rc;

	*n = 0;
	*more = false;
	if (!op)
		return -ENOMEM;
	rados_read_op_omap_get_vals2(op, after, "", max, &it, &pmore, &prval);
	rc = rados_read_op_operate(op, io_of(st), DIR_OID, 0);
	if (rc == -ENOENT) { /* no volume was ever made in this pool */
		rados_release_read_op(op);
		return 0;
	}
	if (!rc)
		rc = prval;
	while (!rc && *n < max) {
		char *k = NULL, *val = NULL;
		size_t kl = 0, vl = 0;

		rc = rados_omap_get_next2(it, &k, &val, &kl, &vl);
		if (rc || !k)
			break;
		if (kl > SP_VOL_LEN || vl != 16)
			continue;
		memset(&out[*n], 0, sizeof(out[*n]));
		memcpy(out[*n].name, k, kl);
		if (!stor_proto_vol_name_ok(out[*n].name))
			continue;
		out[*n].size = wire_get_le64(val);
		out[*n].obj_size = wire_get_le64(val + 8);
		(*n)++;
	}
	*more = pmore != 0;
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	return rc;
}

/* One request's pieces, one per object, all in flight at once. */
static int rados_io(struct smon_store *st, struct smon_store_vol *v, bool write, uint64_t off,
		    uint8_t *buf, uint32_t len)
{
	rados_completion_t c[MAX_PARTS];
	uint32_t plen[MAX_PARTS];
	uint8_t *pbuf[MAX_PARTS];
	int nparts = 0, rc = 0;

	while (len && !rc) {
		uint64_t index = off / v->obj_size, in = off % v->obj_size;
		uint32_t n = v->obj_size - in < len ? (uint32_t)(v->obj_size - in) : len;
		char oid[OID_LEN];

		if (nparts == MAX_PARTS) {
			rc = -E2BIG;
			break;
		}
		oid_of(oid, v->name, index);
		rc = rados_aio_create_completion2(NULL, NULL, &c[nparts]);
		if (rc)
			break;
		if (write)
			rc = rados_aio_write(io_of(st), oid, c[nparts], (const char *)buf, n, in);
		else
			rc = rados_aio_read(io_of(st), oid, c[nparts], (char *)buf, n, in);
		if (rc) {
			rados_aio_release(c[nparts]);
			break;
		}
		pbuf[nparts] = buf;
		plen[nparts++] = n;
		buf += n;
		off += n;
		len -= n;
	}
	for (int i = 0; i < nparts; i++) {
		int r;

		rados_aio_wait_for_complete(c[i]);
		r = rados_aio_get_return_value(c[i]);
		rados_aio_release(c[i]);
		if (!write && (r == -ENOENT || (r >= 0 && (uint32_t)r < plen[i]))) {
			/* Never written, or written only in part: the rest reads as zeros. */
			uint32_t got = r > 0 ? (uint32_t)r : 0;

			memset(pbuf[i] + got, 0, plen[i] - got);
			r = 0;
		}
		if (r < 0 && !rc)
			rc = r;
	}
	return rc;
}

static int rados_vol_read(struct smon_store *st, struct smon_store_vol *v, uint64_t off, void *buf,
			  uint32_t len)
{
	return rados_io(st, v, false, off, buf, len);
}

static int rados_vol_write(struct smon_store *st, struct smon_store_vol *v, uint64_t off,
			   const void *buf, uint32_t len)
{
	return rados_io(st, v, true, off, (uint8_t *)buf, len);
}

static int rados_vol_flush(struct smon_store *st, struct smon_store_vol *v)
{
	(void)v;
	/* Writes are answered only once RADOS acknowledged them (durable on every replica);
	 * this waits for any still pending on the pool. */
	return rados_aio_flush(io_of(st));
}

static int rados_space(struct smon_store *st, uint64_t *capacity, uint64_t *free_bytes)
{
	struct rados_cluster_stat_t s;
	int rc = rados_cluster_stat(((struct rados_be *)st->be)->cluster, &s);

	if (rc)
		return rc;
	*capacity = s.kb * 1024;
	*free_bytes = s.kb_avail * 1024;
	return 0;
}

static void rados_be_close(struct smon_store *st)
{
	struct rados_be *r = st->be;

	rados_ioctx_destroy(r->io);
	rados_shutdown(r->cluster);
	free(r);
	st->be = NULL;
}

static const struct smon_store_backend rados_ops = {
	.kind = "rados",
	.load = rados_load,
	.unload = rados_unload,
	.create = rados_vol_create,
	.destroy = rados_destroy,
	.resize = rados_resize,
	.list = rados_vol_list,
	.read = rados_vol_read,
	.write = rados_vol_write,
	.flush = rados_vol_flush,
	.space = rados_space,
	.close = rados_be_close,
};

int smon_rados_open(struct smon_store *st, const char *conf, const char *pool, uint64_t obj_size,
		    int timeout_s)
{
	struct rados_be *r = calloc(1, sizeof(*r));
	char t[16];
	int rc;

	if (!r)
		return -ENOMEM;
	snprintf(r->pool, sizeof(r->pool), "%s", pool);
	r->obj_size = obj_size;
	rc = rados_create(&r->cluster, NULL);
	if (rc) {
		log_error("rados backend: cannot create a cluster handle: %s", strerror(-rc));
		free(r);
		return rc;
	}
	rc = rados_conf_read_file(r->cluster, conf);
	if (rc) {
		log_error("rados backend: cannot read Ceph configuration '%s': %s", conf,
			  strerror(-rc));
		goto fail;
	}
	/* Without these a missing cluster blocks the connect (and every call) for ever. */
	snprintf(t, sizeof(t), "%d", timeout_s);
	rados_conf_set(r->cluster, "client_mount_timeout", t);
	rados_conf_set(r->cluster, "rados_mon_op_timeout", t);
	rados_conf_set(r->cluster, "rados_osd_op_timeout", t);
	rc = rados_connect(r->cluster);
	if (rc) {
		log_error("rados backend: cannot connect to the Ceph cluster of '%s': %s", conf,
			  strerror(-rc));
		goto fail;
	}
	rc = rados_ioctx_create(r->cluster, pool, &r->io);
	if (rc) {
		log_error("rados backend: cannot open pool '%s': %s", pool,
			  rc == -ENOENT ? "no such pool" : strerror(-rc));
		goto fail;
	}
	st->ops = &rados_ops;
	st->kind = SP_BACKEND_RADOS;
	st->be = r;
	return 0;
fail:
	rados_shutdown(r->cluster);
	free(r);
	return rc;
}
