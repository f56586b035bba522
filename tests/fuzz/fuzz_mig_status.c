/* fuzz_mig_status.c: lego-vmm's migration answers as lego-controld reads them (json_flat.c,
 * mig_status.c) on arbitrary text: no crash, no read past it, and what is accepted is
 * consistent (a phase of its role, a listening address that is HOST:PORT, printable text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_flat.h"
#include "lib/proto/mig_status.h"
#include "lib/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[1024] = "", host[256], port[16];
	struct mig_status st;

	memcpy(text, data, size);
	text[size] = '\0'; /* what the cluster protocol delivers: NUL-terminated */
	if (!mig_status_parse(text, &st, err, sizeof(err))) {
		printable(st.error);
		printable(st.listen);
		if (st.role == MIG_STATUS_ROLE_INCOMING && st.phase == MIG_STATUS_LISTENING &&
		    parse_hostport(st.listen, 1, host, sizeof(host), port, sizeof(port)))
			abort();
		if ((st.role == MIG_STATUS_ROLE_NONE) != (st.phase == MIG_STATUS_NONE))
			abort();
	}
	printable(err);
	err[0] = '\0';
	mig_status_answer_check(text, "started", err, sizeof(err));
	printable(err);
	free(text);
	return 0;
}
