/* fuzz_domain_xml.c: libFuzzer target: any bytes as domain XML. The parser must answer
 * every input with a definition or an error (never crash, leak or read out of bounds), and
 * whatever it accepts must survive its own dumpxml form unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/libvirt/domain_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domain_xml_def d, e;
	char err[512], *xml;

	if (domain_xml_parse((const char *)data, size, &d, err, sizeof(err)))
		return 0;
	xml = domain_xml_format(&d, -1);
	if (!xml)
		abort();
	if (domain_xml_parse(xml, strlen(xml), &e, err, sizeof(err)))
		abort(); /* our own output refused */
	if (memcmp(&d, &e, sizeof(d)))
		abort(); /* the round trip changed the definition */
	free(xml);
	return 0;
}
