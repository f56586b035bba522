/* wl_kv.c: memtest.mode=kv: one open-addressing hash table per vCPU in the memtest area
 * (64-byte slots, linear probing, backward-shift delete), filled to 70%, then gets, updates
 * and delete+reinserts; every value read is checked against what its key and version imply,
 * and a final scan checks every slot and the number of live keys. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/hash.h"
#include "guest-drivers/runtime/io.h"
#include "lib/proto/lego_guest_abi.h"
#include "mt_area.h"
#include "guest-drivers/runtime/smp.h"
#include "guest-drivers/runtime/timing.h"
#include "workloads.h"

#define KV_NAME	     "memtest-kv"
#define KV_SEED	     0x6b76ULL /* "kv" */
#define KV_VER_MUL   0x9e3779b97f4a7c15ULL
#define KV_LOAD_PCT  70
#define KV_WORDS     8
#define KV_CHECK     3 /* the checksum's word */
#define KV_NOT_FOUND UINT64_MAX

struct kv_part {
	uint64_t off;	/* logical offset of the table in the area */
	uint64_t slots; /* table size */
	uint64_t keys;	/* keys 0..keys-1 are live; keys..keys + keys/8 never inserted */
	uint64_t vbase; /* this table's first entry in ver[] */
};

enum kv_phase { KV_FILL, KV_OPS, KV_FINAL };

struct kv_job {
	const struct mt_area *area;
	uint32_t *ver;	/* per key: its current version (all keys stay live) */
	uint64_t *seen; /* per key, a bit: the final scan met it */
	uint64_t ops, seed;
	unsigned nr;
	enum kv_phase phase;
	struct kv_part part[LEGO_MAX_VCPUS]; /* vCPU c owns table c: no locks */
};

/* A failed check that is not a word mismatch (capped like them). */
#define kv_fail(...)                                              \
	do {                                                      \
		if (mt_area_report())                             \
			console_printf(KV_NAME ": " __VA_ARGS__); \
	} while (0)

static struct kv_count {
	uint64_t errors, ops, gets, misses, updates, reinserts;
} __attribute__((aligned(64))) kv_stat[LEGO_MAX_VCPUS];

/* Distinct nonzero keys for every (table, index): hash_mix64 is a bijection and its input is
 * never 0. */
static uint64_t kv_key(unsigned table, uint64_t idx)
{
	return hash_mix64(((uint64_t)(table + 1) << 40) | idx);
}

static uint64_t kv_home(const struct kv_part *t, uint64_t key)
{
	return hash_rng_below(key, t->slots);
}

static uint64_t kv_slot_addr(const struct kv_job *job, const struct kv_part *t, uint64_t i)
{
	return mt_area_addr(job->area, t->off + i * MT_LINE);
}

static uint64_t kv_checksum(const uint64_t w[KV_WORDS])
{
	uint64_t h = KV_SEED;

	for (int i = 0; i < KV_WORDS; i++) {
		if (i != KV_CHECK)
			h = hash_mix64(h ^ w[i]);
	}
	return h;
}

/* A slot (64 bytes, one cache line): key (0: empty; keys are never 0), meta (the key's
 * index in its table's key list | version << 32), the value seed, a checksum over the other
 * seven words, four payload words from the value seed. Empty slots are all zeros. This is
 * what key idx of a table holds at version ver. */
static void kv_expect(const struct kv_job *job, uint64_t key, uint64_t idx, uint32_t ver,
		      uint64_t w[KV_WORDS])
{
	w[0] = key;
	w[1] = idx | (uint64_t)ver << 32;
	w[2] = hash_mix64(key ^ job->seed ^ ver * KV_VER_MUL);
	for (int i = 4; i < KV_WORDS; i++)
		w[i] = hash_mix64(w[2] + (uint64_t)i);
	w[KV_CHECK] = kv_checksum(w);
}

static void kv_read(uint64_t pa, uint64_t w[KV_WORDS])
{
	for (int i = 0; i < KV_WORDS; i++)
		w[i] = ((volatile uint64_t *)(uintptr_t)pa)[i];
}

static void kv_write(uint64_t pa, const uint64_t w[KV_WORDS])
{
	for (int i = 0; i < KV_WORDS; i++)
		((volatile uint64_t *)(uintptr_t)pa)[i] = w[i];
}

static uint64_t kv_compare(uint64_t pa, const uint64_t want[KV_WORDS], const uint64_t got[KV_WORDS],
			   unsigned cpu, const char *what)
{
	uint64_t errors = 0;

	for (int i = 0; i < KV_WORDS; i++) {
		if (got[i] != want[i]) {
			errors++;
			mt_area_mismatch(KV_NAME, what, cpu, pa + 8 * (uint64_t)i, want[i], got[i]);
		}
	}
	return errors;
}

/* The slot holding key, or KV_NOT_FOUND: probing stops at the first empty slot. */
static uint64_t kv_find(const struct kv_job *job, const struct kv_part *t, uint64_t key)
{
	uint64_t i = kv_home(t, key);

	for (uint64_t n = 0; n < t->slots; n++) {
		uint64_t k = *(volatile uint64_t *)(uintptr_t)kv_slot_addr(job, t, i);

		if (k == key)
			return i;
		if (!k)
			return KV_NOT_FOUND;
		i = i + 1 == t->slots ? 0 : i + 1;
	}
	return KV_NOT_FOUND;
}

/* Into the first empty slot from the key's home; false if the table is full. */
static bool kv_insert(const struct kv_job *job, const struct kv_part *t, const uint64_t w[KV_WORDS])
{
	uint64_t i = kv_home(t, w[0]);

	for (uint64_t n = 0; n < t->slots; n++) {
		uint64_t pa = kv_slot_addr(job, t, i);

		if (!*(volatile uint64_t *)(uintptr_t)pa) {
			kv_write(pa, w);
			return true;
		}
		i = i + 1 == t->slots ? 0 : i + 1;
	}
	return false;
}

/* Empty slot i without tombstones: later entries of the probe run whose home is not
 * cyclically in (i, j] move back into the hole (Knuth's Algorithm R). */
static void kv_delete(const struct kv_job *job, const struct kv_part *t, uint64_t i)
{
	static const uint64_t zero[KV_WORDS];
	uint64_t j = i, w[KV_WORDS];

	for (uint64_t n = 1; n < t->slots; n++) {
		uint64_t h;

		j = j + 1 == t->slots ? 0 : j + 1;
		kv_read(kv_slot_addr(job, t, j), w);
		if (!w[0])
			break;
		h = kv_home(t, w[0]);
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		kv_write(kv_slot_addr(job, t, i), w);
		i = j;
	}
	kv_write(kv_slot_addr(job, t, i), zero);
}

static uint64_t kv_op(struct kv_job *job, unsigned cpu, uint64_t *rng)
{
	const struct kv_part *t = &job->part[cpu];
	uint64_t r = hash_rng_next(rng),
		 idx = hash_rng_below(hash_rng_next(rng), t->keys + t->keys / 8);
	uint64_t key = kv_key(cpu, idx), want[KV_WORDS], got[KV_WORDS], i, pa, errors;
	unsigned op = r & 15; /* 0..7 get, 8..12 update, 13..15 delete + reinsert */
	uint32_t *ver;

	i = kv_find(job, t, key);
	if (idx >= t->keys) {
		/* A key never inserted: must not be found. */
		kv_stat[cpu].misses++;
		if (i == KV_NOT_FOUND)
			return 0;
		kv_fail("get: vCPU %u: key 0x%016lx was never inserted but is in slot %lu\n", cpu,
			key, i);
		return 1;
	}
	if (i == KV_NOT_FOUND) {
		kv_fail("get: vCPU %u: key 0x%016lx (#%lu) is missing\n", cpu, key, idx);
		return 1;
	}
	ver = &job->ver[t->vbase + idx];
	pa = kv_slot_addr(job, t, i);
	kv_expect(job, key, idx, *ver, want);
	kv_read(pa, got);
	errors = kv_compare(pa, want, got, cpu, "get");
	if (op < 8) {
		kv_stat[cpu].gets++;
	} else if (op < 13) {
		kv_expect(job, key, idx, ++*ver, want);
		kv_write(pa, want);
		kv_stat[cpu].updates++;
	} else {
		kv_delete(job, t, i);
		i = kv_find(job, t, key);
		if (i != KV_NOT_FOUND) {
			errors++;
			kv_fail("delete: vCPU %u: key 0x%016lx still in slot %lu\n", cpu, key, i);
		}
		kv_expect(job, key, idx, ++*ver, want);
		if (!kv_insert(job, t, want)) {
			errors++;
			kv_fail("reinsert: vCPU %u: table full\n", cpu);
		}
		kv_stat[cpu].reinserts++;
	}
	return errors;
}

/* Every slot of table tb: empty ones all zeros, occupied ones a known key at its version,
 * reachable from its home, each key once; and as many keys as were inserted. */
static uint64_t kv_scan(struct kv_job *job, unsigned cpu, unsigned tb)
{
	const struct kv_part *t = &job->part[tb];
	uint64_t errors = 0, live = 0, w[KV_WORDS], want[KV_WORDS];

	for (uint64_t i = 0; i < t->slots; i++) {
		uint64_t pa = kv_slot_addr(job, t, i), idx, seen;

		kv_read(pa, w);
		if (!w[0]) {
			static const uint64_t zero[KV_WORDS];

			errors += kv_compare(pa, zero, w, cpu, "scan-empty");
			continue;
		}
		idx = w[1] & 0xffffffff;
		if (idx >= t->keys || kv_key(tb, idx) != w[0]) {
			errors++;
			kv_fail("scan: vCPU %u: slot 0x%lx holds unknown key 0x%016lx (meta "
				"0x%016lx)\n",
				cpu, pa, w[0], w[1]);
			continue;
		}
		seen = t->vbase + idx;
		if (job->seen[seen / 64] & (1ULL << (seen % 64))) {
			errors++;
			kv_fail("scan: vCPU %u: key 0x%016lx (#%lu) again at 0x%lx\n", cpu, w[0],
				idx, pa);
			continue;
		}
		kv_expect(job, w[0], idx, job->ver[seen], want);
		errors += kv_compare(pa, want, w, cpu, "scan");
		/* Atomic: neighbouring tables' bits share words, and they are scanned at once. */
		__atomic_fetch_or(&job->seen[seen / 64], 1ULL << (seen % 64), __ATOMIC_RELAXED);
		live++;
		if (kv_find(job, t, w[0]) != i) {
			errors++;
			kv_fail("scan: vCPU %u: key 0x%016lx at 0x%lx is not reachable from its "
				"home slot\n",
				cpu, w[0], pa);
		}
	}
	if (live != t->keys) {
		errors++;
		kv_fail("scan: vCPU %u: table %u holds %lu keys, expected %lu\n", cpu, tb, live,
			t->keys);
	}
	return errors;
}

static void kv_worker(void *arg, unsigned cpu)
{
	struct kv_job *job = arg;
	const struct kv_part *t = &job->part[cpu];
	uint64_t errors = 0;

	if (job->phase == KV_FILL) {
		static const uint64_t zero[KV_WORDS];
		uint64_t w[KV_WORDS];

		for (uint64_t i = 0; i < t->slots; i++)
			kv_write(kv_slot_addr(job, t, i), zero);
		for (uint64_t idx = 0; idx < t->keys; idx++) {
			kv_expect(job, kv_key(cpu, idx), idx, 0, w);
			if (!kv_insert(job, t, w)) {
				errors++;
				kv_fail("insert: vCPU %u: table full\n", cpu);
				break;
			}
		}
	} else if (job->phase == KV_OPS) {
		uint64_t ops = job->ops * (cpu + 1) / job->nr - job->ops * cpu / job->nr;
		uint64_t rng = job->seed ^ hash_mix64(0x6f7073ULL + cpu);

		for (uint64_t i = 0; t->keys && i < ops; i++) {
			errors += kv_op(job, cpu, &rng);
			kv_stat[cpu].ops++;
		}
	} else {
		/* Another vCPU's table: its stores must be visible here too. */
		errors += kv_scan(job, cpu, (cpu + 1) % job->nr);
	}
	kv_stat[cpu].errors += errors;
}

bool wl_kv(const struct workloads_ctx *ctx)
{
	const struct cmdline_opts *o = ctx->opts;
	uint64_t mark = alloc_mark(), start = io_rdtsc(), pages = o->memtest_size / MT_PAGE;
	uint64_t keys = 0, errors = 0, ops = 0, gets = 0, misses = 0, updates = 0, reinserts = 0;
	uint64_t ops_ms = 0;
	unsigned nr = smp_nr_cpus();
	struct mt_area area;
	static struct kv_job job; /* 2 KiB of tables: not on a 32 KiB stack */

	job = (struct kv_job){
		.area = &area,
		.ops = o->memtest_ops,
		.seed = hash_mix64(KV_SEED + o->memtest_seed),
		.nr = nr,
	};
	/* Contiguous tables, one per vCPU, whole pages each. */
	for (unsigned c = 0; c < nr; c++) {
		struct kv_part *t = &job.part[c];

		t->off = pages * c / nr * MT_PAGE;
		t->slots = (pages * (c + 1) / nr * MT_PAGE - t->off) / MT_LINE;
		t->keys = t->slots * KV_LOAD_PCT / 100;
		t->vbase = keys;
		keys += t->keys;
	}
	/* Bookkeeping first: the area begins above the heap. meta holds a 32-bit index. */
	if (keys < (1ULL << 32)) {
		job.ver = alloc_bytes((keys ? keys : 1) * sizeof(uint32_t), 64);
		job.seen = alloc_bytes((keys / 64 + 1) * sizeof(uint64_t), 64);
	}
	if (!job.ver || !job.seen || !mt_area_claim(ctx->bi, o->memtest_size, KV_NAME, &area)) {
		console_printf("RESULT " KV_NAME
			       " FAIL bytes=%lu vcpus=%u keys=%lu ops=%lu errors=0 ms=0 "
			       "reason=no-space\n",
			       o->memtest_size, nr, keys, o->memtest_ops);
		alloc_release(mark);
		return false;
	}
	for (unsigned cpu = 0; cpu < nr; cpu++)
		kv_stat[cpu] = (struct kv_count){0};
	mt_area_reports_reset();

	for (enum kv_phase ph = KV_FILL; ph <= KV_FINAL; ph++) {
		uint64_t t0 = io_rdtsc();

		job.phase = ph;
		smp_run_all(kv_worker, &job);
		if (ph == KV_OPS)
			ops_ms = timing_elapsed_ms(t0);
	}
	for (unsigned cpu = 0; cpu < nr; cpu++) {
		errors += kv_stat[cpu].errors;
		ops += kv_stat[cpu].ops;
		gets += kv_stat[cpu].gets;
		misses += kv_stat[cpu].misses;
		updates += kv_stat[cpu].updates;
		reinserts += kv_stat[cpu].reinserts;
	}
	mt_area_reports_done(KV_NAME, errors);
	/* ops: done (a vCPU whose table holds no key does none); ops_ms: their time alone. */
	console_printf("RESULT " KV_NAME
		       " %s bytes=%lu vcpus=%u keys=%lu ops=%lu gets=%lu misses=%lu "
		       "updates=%lu reinserts=%lu errors=%lu ms=%lu ops_ms=%lu\n",
		       errors ? "FAIL" : "PASS", area.bytes, nr, keys, ops, gets, misses, updates,
		       reinserts, errors, timing_elapsed_ms(start), ops_ms);
	alloc_release(mark);
	return errors == 0;
}
