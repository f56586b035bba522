/* domain_xml_meta.h: the parts of domain XML that describe a vNode for people and other
 * tools rather than how it runs: <title>, <description>, <on_poweroff>/<on_reboot>/
 * <on_crash>, and other applications' namespaced <metadata> elements (kept verbatim). */
#ifndef LEGO_DOMAIN_XML_META_H
#define LEGO_DOMAIN_XML_META_H

#include <libxml/tree.h>
#include <stdio.h>

#include "domain_xml.h"

/* A child element of <domain>: 0 if it was one of these and is now in d, 1 if it is not one
 * of these, or a libvirt error code (27 XML_ERROR, 67 CONFIG_UNSUPPORTED) with err. */
int domain_xml_meta_element(const xmlNode *n, struct domain_xml_def *d, char *err, size_t errlen);
/* Another application's element of <metadata> (n->ns is not lego's), appended to
 * d->metadata as it was given, with the namespace declarations it needs: 0, or a libvirt
 * error code with err. */
int domain_xml_meta_foreign(const xmlNode *n, struct domain_xml_def *d, char *err, size_t errlen);
/* Write <title> and <description> (after <uuid>), and the <on_*> elements (after <os>). */
void domain_xml_meta_format_head(FILE *f, const struct domain_xml_def *d);
void domain_xml_meta_format_actions(FILE *f, const struct domain_xml_def *d);

#endif
