/* migrate_warm.c: the source's warm-up of the destination's ExCache before the pause. After the
 * pre-copy the resident pages whose copy on the memory servers is current go to the
 * destination as a list (WARM_PAGES) while the guest runs on; the destination fetches them and
 * answers WARM_DONE; with the vCPUs paused, the pages written since go as WRITTEN, for the
 * destination to drop again. So the guest resumes with its working set resident instead of
 * fetching it page by page, one round trip each, while its TCP peers wait. */
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/proto/mig_proto.h"
#include "migrate.h"
#include "vmm/memory/pager.h"

#define WARM_MAX_MS    20000	    /* the longest the source waits (running) for the destination */
#define WARM_PASS_MS   250	    /* a write-back pass this often meanwhile: little stays dirty */
#define WARM_MAX_PAGES (256U * 256) /* 256 MiB of ExCache worth of page numbers */

/* One message from the destination while it fetches: 1 for WARM_DONE, -1 (err) for anything
 * else. */
static int warm_answer(struct migrate *m, char *err, size_t errlen)
{
	uint16_t type;
	uint8_t *payload;
	uint32_t len;

	if (migrate_io_recv(m->conn, 1000, &type, &payload, &len, err, errlen))
		return -1;
	if (type == MIG_ERROR)
		snprintf(err, errlen, "the destination refused: %s",
			 payload ? (char *)payload : "");
	else if (type != MIG_WARM_DONE)
		snprintf(err, errlen, "unexpected %s from the destination",
			 mig_proto_type_name(type));
	free(payload);
	return type == MIG_WARM_DONE ? 1 : -1;
}

/* Wait for WARM_DONE (up to WARM_MAX_MS), writing back what the guest dirties meanwhile. */
static int warm_wait(struct migrate *m, uint32_t n, char *err, size_t errlen)
{
	int64_t t0 = mono_clock_ms();

	for (;;) {
		int w = tls_conn_wait(m->conn, WARM_PASS_MS);
		int64_t written;

		if (w < 0) {
			snprintf(err, errlen, "the destination went away");
			return -1;
		}
		if (w > 0) {
			if (warm_answer(m, err, errlen) < 0)
				return -1;
			log_info("migration: the destination fetched %u page(s) ahead in %.1f s", n,
				 (double)(mono_clock_ms() - t0) / 1e3);
			return 0;
		}
		if (migrate_cancelled(m)) {
			snprintf(err, errlen, "cancelled");
			return -1;
		}
		if (mono_clock_ms() - t0 >= WARM_MAX_MS) {
			log_info("migration: the destination is still fetching %u page(s) ahead "
				 "after "
				 "%d ms: pausing now (it fetches the rest after the switch)",
				 n, WARM_MAX_MS);
			return 0;
		}
		written = pager_evict_flush(m->pg);
		if (written < 0) {
			snprintf(err, errlen, "a memory server failed during the write-back");
			return -1;
		}
		migrate_account(m, (uint64_t)written, 0);
	}
}

int migrate_warm(struct migrate *m, char *err, size_t errlen)
{
	uint32_t *pages = malloc(WARM_MAX_PAGES * sizeof(*pages)), n = 0;
	uint8_t *buf = malloc(MIG_MAX_PAYLOAD);
	int rc = 0;

	/* Out of memory: no warm-up, nothing lost but speed. */
	if (pages && buf)
		n = pager_migration_warm_pages(m->pg, pages, WARM_MAX_PAGES);
	if (n) {
		if (migrate_send_pages(m, MIG_WARM_PAGES, pages, n, buf)) {
			snprintf(err, errlen, "the destination went away");
			rc = -1;
		} else {
			m->warm_sent = true;
			rc = warm_wait(m, n, err, errlen);
		}
	}
	free(pages);
	free(buf);
	return rc;
}

int migrate_warm_written(struct migrate *m, uint8_t *buf, char *err, size_t errlen)
{
	uint32_t *pages, n;
	int rc;

	if (!m->warm_sent)
		return 0;
	if (pager_migration_written_pages(m->pg, &pages, &n)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = migrate_send_pages(m, MIG_WRITTEN, pages, n, buf);
	if (rc)
		snprintf(err, errlen, "the destination went away");
	else
		log_info("migration: %u page(s) written since the destination fetched ahead", n);
	free(pages);
	return rc;
}
