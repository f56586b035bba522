/* domain_xml_util.h: what the domain-XML parsers share (domain_xml.c, domain_xml_iface.c):
 * the first error with its libvirt code, element and attribute access, strict text. */
#ifndef LEGO_DOMAIN_XML_UTIL_H
#define LEGO_DOMAIN_XML_UTIL_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct domain_xml_util_ctx {
	char *err;
	size_t errlen;
	int code; /* the first failure's libvirt error code; 0 while none */
};

/* Record the first failure (later ones are dropped); returns -1. */
__attribute__((format(printf, 3, 4))) int domain_xml_util_fail(struct domain_xml_util_ctx *c,
							       int code, const char *fmt, ...);
const char *domain_xml_util_name(const xmlNode *n);
/* n is the element name. */
bool domain_xml_util_is(const xmlNode *n, const char *name);
/* The element's text (no child elements allowed), trimmed, into out. */
int domain_xml_util_text(struct domain_xml_util_ctx *c, const xmlNode *n, char *out, size_t outlen);
/* Only the attributes in allowed (NULL-terminated) may appear. */
int domain_xml_util_attrs_only(struct domain_xml_util_ctx *c, const xmlNode *n,
			       const char *const *allowed);
/* An attribute's value copied into out ("" when absent). */
int domain_xml_util_attr(struct domain_xml_util_ctx *c, const xmlNode *n, const char *name,
			 char *out, size_t outlen);
/* XML-escaped text to f. */
void domain_xml_util_esc(FILE *f, const char *s);

#endif
