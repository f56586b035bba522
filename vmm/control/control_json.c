/* control_json.c: lego-vmm's JSON output built with jansson: safe strings, fixed-point
 * figures, one-line dumps, and the objects of the pager, migration and vRegion answers. */
#include "control_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory/pager.h"
#include "vmm/memory/remote_mem.h"
#include "vmm/migration/migrate.h"
#include "vmm/net/net_nics.h"

/* Every figure is rounded to at most 3 decimals first: 15 digits print it exactly. */
#define CONTROL_JSON_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

json_t *control_json_string(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	/* Not UTF-8: keep the ASCII, mark the rest (what the readers' strict parsers do). */
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *control_json_string_or_null(const char *s)
{
	return s[0] ? control_json_string(s) : json_null();
}

json_t *control_json_fixed(double v, int decimals)
{
	static const double scales[] = {1, 10, 100, 1000};
	double scale = scales[decimals < 0 ? 0 : decimals > 3 ? 3 : decimals];

	/* The figures are durations and sizes: never negative (no libm round()). */
	if (!(v >= 0 && v < 1e15))
		return json_real(v);
	return json_real((double)(long long)(v * scale + 0.5) / scale);
}

json_t *control_json_count(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

char *control_json_line(json_t *o, bool compact)
{
	char *text = o ? json_dumps(o, CONTROL_JSON_FLAGS | (compact ? JSON_COMPACT : 0)) : NULL;
	char *line = NULL;

	json_decref(o);
	if (text && strlen(text) + 2 > CONTROL_JSON_MAX) {
		free(text);
		return strdup("{\"error\": \"reply too long\"}\n");
	}
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

char *control_json_line_u64_first(const char *key, uint64_t v, json_t *rest)
{
	char *tail = control_json_line(rest, false), *line = NULL;

	/* rest's text is "{...}\n": the member goes after its brace. */
	if (!tail || tail[0] != '{' || !strncmp(tail, "{\"error\"", 8))
		return tail;
	if (asprintf(&line, "{\"%s\": %llu%s%s", key, (unsigned long long)v,
		     tail[1] == '}' ? "" : ", ", tail + 1) < 0)
		line = NULL;
	free(tail);
	return line;
}

char *control_json_error(const char *text)
{
	return control_json_line(json_pack("{s:o}", "error", control_json_string(text)), false);
}

json_t *control_json_pager(const struct pager_stats *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "faults", control_json_count(st->faults));
	json_object_set_new(o, "wp_faults", control_json_count(st->wp_faults));
	json_object_set_new(o, "refaults", control_json_count(st->refaults));
	json_object_set_new(o, "remote_fetches", control_json_count(st->remote_fetches));
	json_object_set_new(o, "pages_fetched", control_json_count(st->pages_fetched));
	json_object_set_new(o, "reads_rma", control_json_count(st->reads_rma));
	json_object_set_new(o, "reads_msg", control_json_count(st->reads_msg));
	json_object_set_new(o, "zero_fills", control_json_count(st->zero_fills));
	json_object_set_new(o, "prefetched", control_json_count(st->prefetched));
	json_object_set_new(o, "evictions", control_json_count(st->evictions));
	json_object_set_new(o, "second_chances", control_json_count(st->second_chances));
	json_object_set_new(o, "writebacks", control_json_count(st->writebacks));
	json_object_set_new(o, "bytes_in", control_json_count(st->bytes_in));
	json_object_set_new(o, "bytes_out", control_json_count(st->bytes_out));
	json_object_set_new(o, "resident_pages", control_json_count(st->resident_pages));
	json_object_set_new(o, "dirty_pages", control_json_count(st->dirty_pages));
	json_object_set_new(o, "cache_pages", control_json_count(st->cache_pages));
	json_object_set_new(o, "fault_p50_us", control_json_fixed((double)st->lat_p50_ns / 1e3, 1));
	json_object_set_new(o, "fault_p99_us", control_json_fixed((double)st->lat_p99_ns / 1e3, 1));
	json_object_set_new(o, "fault_p999_us",
			    control_json_fixed((double)st->lat_p999_ns / 1e3, 1));
	json_object_set_new(o, "fault_max_us", control_json_fixed((double)st->lat_max_ns / 1e3, 1));
	json_object_set_new(o, "mode", json_string(st->mode));
	return o;
}

json_t *control_json_migration(const struct migrate_status *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "role", json_string(st->role));
	json_object_set_new(o, "phase", json_string(st->phase));
	json_object_set_new(o, "iteration", json_integer(st->iteration));
	json_object_set_new(o, "dirty_pages", control_json_count(st->dirty_pages));
	json_object_set_new(o, "pages_written", control_json_count(st->pages_written));
	json_object_set_new(o, "bytes_total", control_json_count(st->bytes_total));
	json_object_set_new(o, "bytes_processed", control_json_count(st->bytes_processed));
	json_object_set_new(o, "bytes_remaining",
			    control_json_count(st->bytes_total - st->bytes_processed));
	json_object_set_new(o, "elapsed_ms", control_json_fixed((double)st->elapsed_ns / 1e6, 3));
	json_object_set_new(o, "downtime_ms", control_json_fixed((double)st->downtime_ns / 1e6, 3));
	json_object_set_new(o, "error", control_json_string_or_null(st->error));
	json_object_set_new(o, "listen", control_json_string_or_null(st->listen));
	json_object_set_new(o, "dest", control_json_string_or_null(st->dest));
	json_object_set_new(o, "msrs_refused", json_integer(st->msrs_refused));
	return o;
}

json_t *control_json_regions(struct remote_mem *rm)
{
	struct remote_mem_server_view sv[RM_MAX_SERVERS];
	json_t *o = json_object(), *servers = json_array(), *regions = json_array();
	struct remote_mem_copy_view(*cv)[RM_MAX_COPIES] =
		calloc((size_t)rm->nr_regions + 1, sizeof(*cv));
	int *nr = calloc((size_t)rm->nr_regions + 1, sizeof(*nr)), n;

	if (!cv || !nr) {
		free(cv);
		free(nr);
		json_decref(o);
		json_decref(servers);
		json_decref(regions);
		return NULL;
	}
	/* The copies first, their servers' entries held, then the servers: every entry a copy
	 * names is listed as that server (an entry is reused once nothing refers to it). */
	for (int i = 0; i < rm->nr_regions; i++)
		nr[i] = remote_mem_copies_region(rm, i, cv[i]);
	n = remote_mem_copies_servers(rm, sv);
	for (int s = 0; s < n; s++)
		json_array_append_new(servers, json_pack("{s:o,s:o,s:b}", "addr",
							 control_json_string(sv[s].addr), "name",
							 control_json_string(sv[s].name), "lost",
							 sv[s].lost));
	for (int i = 0; i < rm->nr_regions; i++) {
		json_t *copies = json_array();

		for (int j = 0; j < nr[i]; j++)
			json_array_append_new(copies,
					      json_pack("{s:i,s:s,s:b}", "server", cv[i][j].server,
							"state", cv[i][j].live ? "live" : "joining",
							"failed", cv[i][j].failed));
		json_array_append_new(regions, copies);
		remote_mem_copies_region_done(rm, cv[i], nr[i]);
	}
	free(cv);
	free(nr);
	json_object_set_new(o, "servers", servers);
	json_object_set_new(o, "regions", regions);
	json_object_set_new(o, "copies_lost", control_json_count(remote_mem_copies_lost(rm)));
	json_object_set_new(o, "redirects", control_json_count(remote_mem_copies_redirects(rm)));
	return o;
}

json_t *control_json_net(const struct net_nics *nics)
{
	json_t *a = json_array();
	int nr = nics ? __atomic_load_n(&nics->nr, __ATOMIC_ACQUIRE) : 0;

	for (int i = 0; i < nr; i++) {
		const struct net_nics_nic *n = &nics->nic[i];
		char mac[MAC_ADDR_TEXT_LEN], err[200];
		struct net_tap_stats st;
		json_t *o = json_object();

		mac_addr_format(n->mac, mac);
		json_object_set_new(o, "mac", json_string(mac));
		json_object_set_new(o, "tap", control_json_string(n->tap));
		if (net_nics_stats(nics, i, &st, err, sizeof(err))) {
			json_object_set_new(o, "error", control_json_string(err));
		} else {
			json_object_set_new(o, "rx_bytes", control_json_count(st.rx_bytes));
			json_object_set_new(o, "rx_packets", control_json_count(st.rx_packets));
			json_object_set_new(o, "tx_bytes", control_json_count(st.tx_bytes));
			json_object_set_new(o, "tx_packets", control_json_count(st.tx_packets));
			json_object_set_new(o, "rx_drops", control_json_count(st.rx_dropped));
			json_object_set_new(o, "tx_drops", control_json_count(st.tx_dropped));
		}
		json_array_append_new(a, o);
	}
	return a;
}
