/* migrate_io.c: whole messages over the migration stream (TLS or plain), with deadlines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fdio.h"
#include "lib/mono_clock.h"
#include "lib/proto/mig_proto.h"
#include "migrate.h"

int migrate_io_send(struct tls_conn *c, uint16_t type, const void *payload, size_t len)
{
	uint8_t small[MIG_HDR_LEN + 4096];

	if (len > MIG_MAX_PAYLOAD)
		return -1;
	mig_proto_hdr_put(small, type, (uint32_t)len);
	/* A short message leaves in one segment (the socket has TCP_NODELAY). */
	if (len <= sizeof(small) - MIG_HDR_LEN) {
		if (len)
			memcpy(small + MIG_HDR_LEN, payload, len);
		return tls_conn_write(c, small, MIG_HDR_LEN + len);
	}
	if (tls_conn_write(c, small, MIG_HDR_LEN))
		return -1;
	return tls_conn_write(c, payload, len);
}

/* Exactly len bytes before the deadline (a mono_clock_ms() time); 0, or -1 with err. */
static int migrate_io_read_exactly(struct tls_conn *c, void *buf, size_t len, int64_t deadline_ms,
				   char *err, size_t errlen)
{
	int rc = tls_conn_read(c, buf, len, deadline_ms);

	if (rc == FDIO_OK)
		return 0;
	snprintf(err, errlen, "%s",
		 rc == FDIO_EOF ? "the peer closed the connection" : tls_conn_strerror(c, errno));
	return -1;
}

int migrate_io_recv(struct tls_conn *c, int timeout_ms, uint16_t *type, uint8_t **payload,
		    uint32_t *len, char *err, size_t errlen)
{
	int64_t deadline_ms = mono_clock_ms() + timeout_ms;
	uint8_t hdr[MIG_HDR_LEN];
	struct mig_proto_hdr h;
	char bad[200];

	*payload = NULL;
	if (migrate_io_read_exactly(c, hdr, sizeof(hdr), deadline_ms, err, errlen))
		return -1;
	if (mig_proto_hdr_get(hdr, &h, bad, sizeof(bad))) {
		snprintf(err, errlen, "malformed message: %s", bad);
		return -1;
	}
	if (h.len) {
		*payload = malloc(h.len + 1); /* +1: an ERROR's text gets a NUL */
		if (!*payload) {
			snprintf(err, errlen, "out of memory for a %u-byte message", h.len);
			return -1;
		}
		if (migrate_io_read_exactly(c, *payload, h.len, deadline_ms, err, errlen)) {
			free(*payload);
			*payload = NULL;
			return -1;
		}
		(*payload)[h.len] = 0;
	}
	*type = h.type;
	*len = h.len;
	return 0;
}
