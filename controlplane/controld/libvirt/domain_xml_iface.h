/* domain_xml_iface.h: a domain's <interface type='network'> elements (struct
 * domain_xml_iface in domain_xml.h), parsed strictly and written back. */
#ifndef LEGO_DOMAIN_XML_IFACE_H
#define LEGO_DOMAIN_XML_IFACE_H

#include <libxml/tree.h>
#include <stdio.h>

#include "domain_xml.h"
#include "domain_xml_util.h"

/* One <interface> appended to d; 0, or -1 with the failure in c. */
int domain_xml_iface_parse(struct domain_xml_util_ctx *c, const xmlNode *n,
			   struct domain_xml_def *d);
/* d's interfaces as <devices> children; with tap names (<target dev>) when active (id >= 0). */
void domain_xml_iface_format(FILE *f, const struct domain_xml_def *d, int id);

#endif
