/* fuzz_smon_handler.c: lego-smon's request handler (smon_handler_request, as the daemon
 * runs it on every message) over the file backend in a scratch directory, fed sequences of
 * arbitrary messages on one connection: one without capability checks, one holding a
 * capability for every volume (its rights from the input), one that must still show one.
 * No crash, no leak, every reply well-formed, nothing outside the directory touched.
 * Input: a selector byte, a rights byte, then messages as a 2-byte length and its bytes. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/smon/smon_handler.h"
#include "hypervisor/smon/smon_store.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t reply[SP_MAX_MSG];
static struct cap_verify none; /* no trusted key: nothing the fuzzer shows verifies */
static char dir[64];

static void session(struct smon_handler_session *s, unsigned kind, uint32_t rights)
{
	memset(s, 0, sizeof(*s));
	s->peer = "fuzz";
	s->server = "fuzzsm";
	if (kind == 0)
		return;
	s->verify = &none;
	if (kind == 2)
		return;
	s->hello = true;
	s->authed = true;
	s->cap = (struct cap){.kind = CAP_KIND_STORAGE,
			      .rights = rights & CAP_STOR_ALL,
			      .flags = CAP_ALL_VOLUMES,
			      .expires = UINT64_MAX};
}

/* The scratch directory emptied (what the last input made). */
static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..")))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smon_handler_session s;
	struct smon_store st;
	size_t off = 2;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/lego-fuzz-smon.XXXXXX");
		if (!mkdtemp(dir))
			abort();
		log_set_level(LOG_ERROR);
	}
	if (size < 2)
		return 0;
	smon_store_init(&st);
	if (smon_file_open(&st, dir, false))
		abort();
	session(&s, data[0] % 3, data[1]);
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8, n;
		struct wire_hdr h;
		char err[SP_ERRTEXT_MAX + 1];
		uint8_t *msg;

		off += 2;
		if (len > size - off)
			len = size - off;
		msg = malloc(len ? len : 1);
		memcpy(msg, data + off, len);
		off += len;
		n = smon_handler_request(&st, &s, msg, len, false, reply);
		free(msg);
		if (n < SP_HDR_LEN || n > SP_MAX_MSG ||
		    stor_proto_hdr_get(reply, n, &h, err, sizeof(err)) || !(h.op & SP_REPLY) ||
		    h.status > SP_STATUS_MAX)
			abort();
	}
	smon_store_close(&st);
	empty_dir();
	return 0;
}
