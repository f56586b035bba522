/* smon_store.h: lego-smon's volumes: a table of open volumes over a backend (a directory of
 * sparse files, or a RADOS pool). Requests name their volume; the table keeps what a
 * backend needs per volume (a file descriptor, the size) so an I/O costs one lookup.
 *
 * Locking: I/O holds the table's read lock for its whole duration; resize and delete take
 * the write lock, so they never race an I/O on the same volume. Admin operations are
 * serialised by their own mutex. All functions return 0 or -errno. */
#ifndef LEGO_SMON_STORE_H
#define LEGO_SMON_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/proto/stor_proto.h"

#define SMON_BUCKETS 1024
#define SMON_OBJ_MIN (64U << 10) /* RADOS object sizes: powers of 2 in [64 KiB, 1 GiB] */
#define SMON_OBJ_MAX (1U << 30)

struct smon_store;

struct smon_store_vol {
	char name[SP_VOL_LEN + 1];
	uint64_t size;
	uint64_t obj_size; /* RADOS: bytes per object; file: 0 */
	int fd;		   /* file: the volume's file */
	int dfd;	   /* file: the same opened with O_DIRECT, or -1 */
	struct smon_store_vol *next;
};

struct smon_store_backend {
	const char *kind;
	/* A volume's description from the backend, in a new struct smon_store_vol; -ENOENT. */
	int (*load)(struct smon_store *st, const char *name, struct smon_store_vol **out);
	void (*unload)(struct smon_store *st, struct smon_store_vol *v);
	/* Make a new zero-filled volume; -EEXIST if the name is taken. */
	int (*create)(struct smon_store *st, const char *name, uint64_t size);
	/* Remove every byte of v from the backend (v is out of the table). */
	int (*destroy)(struct smon_store *st, struct smon_store_vol *v);
	/* Change v's size; bytes beyond a smaller size are gone for good. */
	int (*resize)(struct smon_store *st, struct smon_store_vol *v, uint64_t size);
	/* Up to max volumes whose names sort after `after` (all when ""), in name order. */
	int (*list)(struct smon_store *st, const char *after, struct stor_proto_vol_info *out,
		    uint32_t max, uint32_t *n, bool *more);
	/* The range is checked against v->size; reads of never-written bytes give zeros. */
	int (*read)(struct smon_store *st, struct smon_store_vol *v, uint64_t off, void *buf,
		    uint32_t len);
	int (*write)(struct smon_store *st, struct smon_store_vol *v, uint64_t off, const void *buf,
		     uint32_t len);
	/* Every completed write to v is durable when this returns 0. */
	int (*flush)(struct smon_store *st, struct smon_store_vol *v);
	int (*space)(struct smon_store *st, uint64_t *capacity, uint64_t *free_bytes);
	void (*close)(struct smon_store *st);
};

struct smon_store {
	const struct smon_store_backend *ops;
	enum stor_proto_backend_kind kind;
	void *be;	 /* the backend's own state */
	bool aligned_io; /* I/O buffers must be 4 KiB-aligned (O_DIRECT) */
	pthread_rwlock_t lock;
	pthread_mutex_t admin;
	struct smon_store_vol *bucket[SMON_BUCKETS];
	atomic_uint_fast64_t reads, writes, flushes, errors;
};

/* Backends: fill st->ops, st->kind and st->be. */
/* direct: bypass the page cache (O_DIRECT) where the file system allows it. */
int smon_file_open(struct smon_store *st, const char *dir, bool direct);
int smon_rados_open(struct smon_store *st, const char *conf, const char *pool, uint64_t obj_size,
		    int timeout_s);

void smon_store_init(struct smon_store *st);
void smon_store_close(struct smon_store *st);

int smon_store_create(struct smon_store *st, const char *name, uint64_t size);
int smon_store_delete(struct smon_store *st, const char *name);
int smon_store_resize(struct smon_store *st, const char *name, uint64_t size);
int smon_store_stat(struct smon_store *st, const char *name, struct stor_proto_vol_info *out);
int smon_store_list(struct smon_store *st, const char *after, struct stor_proto_vol_info *out,
		    uint32_t max, uint32_t *n, bool *more);
/* -ERANGE for a range beyond the volume's end. */
int smon_store_read(struct smon_store *st, const char *name, uint64_t off, void *buf, uint32_t len);
int smon_store_write(struct smon_store *st, const char *name, uint64_t off, const void *buf,
		     uint32_t len);
int smon_store_flush(struct smon_store *st, const char *name);

#endif
