/* domain_xml_meta.c: <title>, <description>, the <on_*> actions and other applications'
 * <metadata> elements: parsed, kept and written back. */
#include "domain_xml_meta.h"

#include <libxml/xmlsave.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "domain_xml_util.h"
#include "rpc_proto.h"

static const char *const action_words[] = {"", "destroy", "restart"};

__attribute__((format(printf, 4, 5))) static int bad(char *err, size_t errlen, int code,
						     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* The element's text: only text children, at most len - 1 bytes. */
static int text(const xmlNode *n, char *out, size_t len, char *err, size_t errlen)
{
	size_t used = 0;

	out[0] = '\0';
	if (n->properties)
		return bad(err, errlen, RPC_ERR_CONFIG_UNSUPPORTED,
			   "unknown attribute '%s' of <%s>", (const char *)n->properties->name,
			   (const char *)n->name);
	for (const xmlNode *k = n->children; k; k = k->next) {
		size_t add;

		if (k->type == XML_COMMENT_NODE)
			continue;
		if (k->type != XML_TEXT_NODE && k->type != XML_CDATA_SECTION_NODE)
			return bad(err, errlen, RPC_ERR_XML, "element <%s> must hold only text",
				   (const char *)n->name);
		add = strlen((const char *)k->content);
		if (used + add >= len)
			return bad(err, errlen, RPC_ERR_XML, "the text of <%s> is too long",
				   (const char *)n->name);
		memcpy(out + used, k->content, add + 1);
		used += add;
	}
	return 0;
}

static int action(const xmlNode *n, uint8_t *out, char *err, size_t errlen)
{
	char w[32];
	int rc;

	if (*out)
		return bad(err, errlen, RPC_ERR_XML, "<%s> given twice", (const char *)n->name);
	rc = text(n, w, sizeof(w), err, errlen);
	if (rc)
		return rc;
	for (size_t i = 1; i < sizeof(action_words) / sizeof(action_words[0]); i++)
		if (!strcmp(w, action_words[i])) {
			*out = (uint8_t)i;
			return 0;
		}
	if (!strcmp(w, "preserve") || !strcmp(w, "rename-restart") || !strncmp(w, "coredump", 8))
		return bad(err, errlen, RPC_ERR_CONFIG_UNSUPPORTED,
			   "<%s> '%s' is not supported: a vNode whose guest ended has no "
			   "lego-vmm left to keep (destroy, restart)",
			   (const char *)n->name, w);
	return bad(err, errlen, RPC_ERR_XML, "<%s> must be destroy or restart, not '%s'",
		   (const char *)n->name, w);
}

int domain_xml_meta_element(const xmlNode *n, struct domain_xml_def *d, char *err, size_t errlen)
{
	const char *name = (const char *)n->name;
	int rc;

	if (!strcmp(name, "title")) {
		if (d->title[0])
			return bad(err, errlen, RPC_ERR_XML, "<title> given twice");
		rc = text(n, d->title, sizeof(d->title), err, errlen);
		if (!rc && strchr(d->title, '\n'))
			return bad(err, errlen, RPC_ERR_XML,
				   "<title> must be one line (no newline)");
		return rc;
	}
	if (!strcmp(name, "description")) {
		if (d->description[0])
			return bad(err, errlen, RPC_ERR_XML, "<description> given twice");
		return text(n, d->description, sizeof(d->description), err, errlen);
	}
	if (!strcmp(name, "on_poweroff"))
		return action(n, &d->on_poweroff, err, errlen);
	if (!strcmp(name, "on_reboot"))
		return action(n, &d->on_reboot, err, errlen);
	if (!strcmp(name, "on_crash"))
		return action(n, &d->on_crash, err, errlen);
	return 1;
}

int domain_xml_meta_foreign(const xmlNode *n, struct domain_xml_def *d, char *err, size_t errlen)
{
	xmlDoc *doc;
	xmlNode *copy;
	xmlBuffer *buf;
	size_t used = strlen(d->metadata), len;
	int rc = 0;

	if (!n->ns || !n->ns->href || !n->ns->href[0])
		return bad(err, errlen, RPC_ERR_XML,
			   "metadata element <%s> needs a namespace of its own (<%s xmlns='URI'>)",
			   (const char *)n->name, (const char *)n->name);
	doc = xmlNewDoc((const xmlChar *)"1.0");
	copy = doc ? xmlDocCopyNode((xmlNode *)n, doc, 1) : NULL;
	buf = xmlBufferCreate();
	if (!copy || !buf) {
		if (copy)
			xmlFreeNode(copy);
		rc = bad(err, errlen, RPC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	xmlDocSetRootElement(doc, copy); /* the document frees it from now on */
	xmlReconciliateNs(doc, copy);	 /* the declarations it used from its parents */
	if (xmlNodeDump(buf, doc, copy, 0, 0) < 0) {
		rc = bad(err, errlen, RPC_ERR_INTERNAL, "cannot keep metadata <%s>",
			 (const char *)n->name);
		goto out;
	}
	len = (size_t)xmlBufferLength(buf);
	if (used + len + 1 >= sizeof(d->metadata)) {
		rc = bad(err, errlen, RPC_ERR_XML,
			 "other applications' <metadata> is larger than 16 KiB (at <%s>)",
			 (const char *)n->name);
		goto out;
	}
	memcpy(d->metadata + used, xmlBufferContent(buf), len);
	d->metadata[used + len] = DOM_META_SEP;
	d->metadata[used + len + 1] = '\0';
out:
	if (buf)
		xmlBufferFree(buf);
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

void domain_xml_meta_format_head(FILE *f, const struct domain_xml_def *d)
{
	if (d->title[0]) {
		fputs("  <title>", f);
		domain_xml_util_esc(f, d->title);
		fputs("</title>\n", f);
	}
	if (d->description[0]) {
		fputs("  <description>", f);
		domain_xml_util_esc(f, d->description);
		fputs("</description>\n", f);
	}
}

void domain_xml_meta_format_actions(FILE *f, const struct domain_xml_def *d)
{
	/* Only those given (none: destroy on power-off and crash), so that a definition read
	 * back from dumpxml is the same definition. */
	if (d->on_poweroff)
		fprintf(f, "  <on_poweroff>%s</on_poweroff>\n", action_words[d->on_poweroff]);
	if (d->on_reboot)
		fprintf(f, "  <on_reboot>%s</on_reboot>\n", action_words[d->on_reboot]);
	if (d->on_crash)
		fprintf(f, "  <on_crash>%s</on_crash>\n", action_words[d->on_crash]);
}
