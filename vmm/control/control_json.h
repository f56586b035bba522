/* control_json.h: the JSON lego-vmm emits (control-socket answers, --stats), built with
 * jansson: every string escaped, keys in the order the readers expect. Answers read by
 * vmm_ask and the tests keep jansson's default spacing ({"a": 1, "b": 2}); the regions answer
 * is compact. */
#ifndef LEGO_CONTROL_JSON_H
#define LEGO_CONTROL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pager_stats;
struct migrate_status;
struct remote_mem;
struct net_nics;

/* The longest answer (what lego-pmon relays). */
#define CONTROL_JSON_MAX (1U << 20)

/* s as a JSON string: text that is not valid UTF-8 (from a peer or a request) has each byte
 * outside ASCII replaced by '?'. */
json_t *control_json_string(const char *s);
/* s, or null when empty. */
json_t *control_json_string_or_null(const char *s);
/* v rounded to decimals (0..3) places, the precision its figure always had. */
json_t *control_json_fixed(double v, int decimals);
/* A count (jansson's integers are signed: beyond INT64_MAX it saturates). */
json_t *control_json_count(uint64_t v);

/* o (its reference taken) as one line with a newline, malloc'ed: {"error": "reply too long"}
 * past CONTROL_JSON_MAX; NULL when out of memory (o NULL included). */
char *control_json_line(json_t *o, bool compact);
/* The same, with key: v first: jansson's integers are signed 64-bit, a vNode id is any u64. */
char *control_json_line_u64_first(const char *key, uint64_t v, json_t *rest);
/* {"error": text} as a line (NULL when out of memory). */
char *control_json_error(const char *text);

/* {"faults": ..., "fault_max_us": ...}: the pager's figures. */
json_t *control_json_pager(const struct pager_stats *st);
/* The `migration` answer's object. */
json_t *control_json_migration(const struct migrate_status *st);
/* The `regions` answer's object: {"servers":[...],"regions":[[...],...],"copies_lost":N,
 * "redirects":N} (see remote_mem.h). */
json_t *control_json_regions(struct remote_mem *rm);
/* The `stats` answer's "net": an array of each NIC's counters (control_sock.h). */
json_t *control_json_net(const struct net_nics *nics);

#endif
