/* fuzz_vmm_regions.c: libFuzzer target: any bytes as lego-vmm's `regions` answer, which
 * lego-controld reconciles its vRegion map with. The reader must refuse or read every input
 * (no crash, no read past it), and what it reads must be consistent: server indexes in
 * range, at most four distinct copies per vRegion. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/vmm_regions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm_regions_answer a;
	char err[256], *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	if (!vmm_regions_parse(text, &a, err, sizeof(err))) {
		if (a.nr_servers > VR_MAX_SERVERS || a.nr_regions > VR_MAX_REGIONS)
			abort();
		for (int r = 0; r < a.nr_regions; r++) {
			if (a.regions[r].nr > VR_MAX_COPIES)
				abort();
			for (int c = 0; c < a.regions[r].nr; c++) {
				if (a.regions[r].c[c].server < 0 ||
				    a.regions[r].c[c].server >= a.nr_servers)
					abort();
				for (int k = 0; k < c; k++)
					if (a.regions[r].c[k].server == a.regions[r].c[c].server)
						abort();
			}
		}
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	free(text);
	return 0;
}
