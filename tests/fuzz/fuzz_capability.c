/* fuzz_capability.c: a capability as lego-mmon and lego-smon read it from AUTH, on
 * arbitrary bytes: no crash, no read past it; what decodes re-encodes to the same bytes,
 * and nothing the fuzzer makes is accepted (it cannot sign with the cluster's key). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cap/cap.h"
#include "lib/cap/cap_key.h"
#include "lib/cap/cap_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MCowBQYDK2VwAyEACLmOcLG2Tpbjw+F18LV+HHAX9q1X5UdiFg6ElK1aO9Q=\n"
			      "-----END PUBLIC KEY-----\n";
static struct cap_verify verify;

static void load_key(void)
{
	char path[] = "/tmp/lego-fuzz-cap.XXXXXX", err[256];
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, pub_pem, sizeof(pub_pem) - 1) != (ssize_t)sizeof(pub_pem) - 1 ||
	    cap_verify_add_file(&verify, path, err, sizeof(err)))
		abort();
	close(fd);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CAP_MAX_LEN];
	static const uint8_t challenge[CAP_KEY_CHALLENGE_LEN] = {7};
	char err[256];
	struct cap c;
	uint8_t *p;

	if (!verify.nr_keys)
		load_key();
	if (size < CAP_SIG_LEN || size > CAP_SIG_LEN + CAP_MAX_LEN)
		return 0;
	/* As AUTH carries it: the proof, then the capability (an exact-size copy). */
	p = malloc(size - CAP_SIG_LEN ? size - CAP_SIG_LEN : 1);
	memcpy(p, data + CAP_SIG_LEN, size - CAP_SIG_LEN);
	if (!cap_get(p, size - CAP_SIG_LEN, &c, err, sizeof(err))) {
		size_t n = cap_body_put(out, &c);

		if (n + CAP_SIG_LEN != size - CAP_SIG_LEN || memcmp(out, p, n))
			abort();
		cap_volume_rights(&c, "vol");
		cap_covers_region(&c, (uint32_t)size);
		cap_check_time(&c, cap_now(), err, sizeof(err));
	}
	if (cap_verify_check(&verify, data[0] & 1 ? CAP_KIND_MEMORY : CAP_KIND_STORAGE, challenge,
			     p, size - CAP_SIG_LEN, data, cap_now(), &c, err,
			     sizeof(err)) == CAP_VERIFY_OK)
		abort();
	free(p);
	return 0;
}
