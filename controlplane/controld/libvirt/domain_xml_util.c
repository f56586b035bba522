/* domain_xml_util.c: the domain-XML parsers' shared helpers (libxml2 trees, strict text,
 * libvirt error codes). */
#include "domain_xml_util.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include "rpc_proto.h"

int domain_xml_util_fail(struct domain_xml_util_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (!c->code) {
		c->code = code;
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *domain_xml_util_name(const xmlNode *n)
{
	return (const char *)n->name;
}

bool domain_xml_util_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp(domain_xml_util_name(n), name);
}

int domain_xml_util_text(struct domain_xml_util_ctx *c, const xmlNode *n, char *out, size_t outlen)
{
	size_t len = 0;

	out[0] = '\0';
	for (const xmlNode *k = n->children; k; k = k->next) {
		size_t add;

		if (k->type == XML_COMMENT_NODE)
			continue;
		if (k->type != XML_TEXT_NODE && k->type != XML_CDATA_SECTION_NODE)
			return domain_xml_util_fail(c, RPC_ERR_XML,
						    "element <%s> must hold only text",
						    domain_xml_util_name(n));
		add = strlen((const char *)k->content);
		if (len + add >= outlen)
			return domain_xml_util_fail(c, RPC_ERR_XML,
						    "the text of <%s> is longer than %zu bytes",
						    domain_xml_util_name(n), outlen - 1);
		memcpy(out + len, k->content, add + 1);
		len += add;
	}
	while (len && isspace((unsigned char)out[len - 1]))
		out[--len] = '\0';
	if (len && isspace((unsigned char)out[0])) {
		size_t skip = 0;

		while (isspace((unsigned char)out[skip]))
			skip++;
		memmove(out, out + skip, len - skip + 1);
		memset(out + len - skip, 0, skip); /* no stale tail: definitions compare whole */
	}
	return 0;
}

int domain_xml_util_attrs_only(struct domain_xml_util_ctx *c, const xmlNode *n,
			       const char *const *allowed)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		bool ok = false;

		for (int i = 0; allowed && allowed[i]; i++)
			ok |= !strcmp((const char *)a->name, allowed[i]);
		if (!ok)
			return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
						    "unknown attribute '%s' of <%s>",
						    (const char *)a->name, domain_xml_util_name(n));
	}
	return 0;
}

int domain_xml_util_attr(struct domain_xml_util_ctx *c, const xmlNode *n, const char *name,
			 char *out, size_t outlen)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	int rc = 0;

	memset(out, 0, outlen);
	if (!v)
		return 0;
	if (strlen((const char *)v) >= outlen)
		rc = domain_xml_util_fail(c, RPC_ERR_XML, "attribute '%s' of <%s> is too long",
					  name, domain_xml_util_name(n));
	else
		strcpy(out, (const char *)v);
	xmlFree(v);
	return rc;
}

void domain_xml_util_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}
