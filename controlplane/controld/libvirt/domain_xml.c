/* domain_xml.c: strict domain-XML parsing (libxml2) and formatting for vNode definitions. */
#include "domain_xml.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_xml_iface.h"
#include "domain_xml_meta.h"
#include "domain_xml_util.h"
#include "lib/uuid_str.h"
#include "rpc_proto.h"

static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* A vNode's name as libvirt allows it (any UTF-8 text but '/' and control characters),
 * within what a file name in the state directory may be: 1..DOM_NAME_MAX bytes, not
 * starting with '.' (those files are skipped as hidden). */
static bool dom_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > DOM_NAME_MAX || s[0] == '.' || !xmlCheckUTF8((const xmlChar *)s))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
			return false;
	return true;
}

/* A size element (<memory unit='MiB'>256</memory>) in KiB, rounded up. */
static int size_kib(struct domain_xml_util_ctx *c, const xmlNode *n, uint64_t *kib)
{
	static const char *const allowed[] = {"unit", NULL};
	static const struct {
		const char *unit;
		uint64_t bytes;
	} units[] = {{"b", 1},		{"bytes", 1},	    {"KB", 1000},
		     {"k", 1024},	{"KiB", 1024},	    {"MB", 1000000},
		     {"M", 1 << 20},	{"MiB", 1 << 20},   {"GB", 1000000000},
		     {"G", 1 << 30},	{"GiB", 1 << 30},   {"TB", 1000000000000ULL},
		     {"T", 1ULL << 40}, {"TiB", 1ULL << 40}};
	char unit[16], text[32], *end;
	uint64_t v, mult = 0;

	if (domain_xml_util_attrs_only(c, n, allowed) ||
	    domain_xml_util_attr(c, n, "unit", unit, sizeof(unit)) ||
	    domain_xml_util_text(c, n, text, sizeof(text)))
		return -1;
	if (!unit[0])
		mult = 1024;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !mult; i++)
		if (!strcmp(unit, units[i].unit))
			mult = units[i].bytes;
	if (!mult)
		return domain_xml_util_fail(c, RPC_ERR_XML, "unknown unit '%s' in <%s>", unit,
					    domain_xml_util_name(n));
	errno = 0;
	v = strtoull(text, &end, 10);
	if (!text[0] || *end || errno || text[0] == '-' || (v && mult > UINT64_MAX / v))
		return domain_xml_util_fail(c, RPC_ERR_XML, "<%s> must be a whole number, not '%s'",
					    domain_xml_util_name(n), text);
	*kib = (v * mult + 1023) / 1024;
	return 0;
}

static int parse_os(struct domain_xml_util_ctx *c, const xmlNode *os, struct domain_xml_def *d)
{
	bool seen_type = false;

	if (domain_xml_util_attrs_only(c, os, NULL))
		return -1;
	for (const xmlNode *k = os->children; k; k = k->next) {
		char t[32], arch[32];
		static const char *const type_attrs[] = {"arch", "machine", NULL};

		if (k->type != XML_ELEMENT_NODE)
			continue;
		if (domain_xml_util_is(k, "type")) {
			if (seen_type || domain_xml_util_attrs_only(c, k, type_attrs) ||
			    domain_xml_util_attr(c, k, "arch", arch, sizeof(arch)) ||
			    domain_xml_util_text(c, k, t, sizeof(t)))
				return seen_type ? domain_xml_util_fail(c, RPC_ERR_XML,
									"<type> given twice")
						 : -1;
			seen_type = true;
			if (strcmp(t, "hvm") && strcmp(t, "lego"))
				return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
							    "OS type '%s' is not supported (hvm)",
							    t);
			if (arch[0] && strcmp(arch, "x86_64"))
				return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
							    "architecture '%s' is not supported",
							    arch);
		} else if (domain_xml_util_is(k, "kernel")) {
			if (d->kernel[0] || domain_xml_util_attrs_only(c, k, NULL) ||
			    domain_xml_util_text(c, k, d->kernel, sizeof(d->kernel)))
				return d->kernel[0] && !c->code
					       ? domain_xml_util_fail(c, RPC_ERR_XML,
								      "<kernel> given twice")
					       : -1;
		} else if (domain_xml_util_is(k, "initrd")) {
			if (d->initrd[0] || domain_xml_util_attrs_only(c, k, NULL) ||
			    domain_xml_util_text(c, k, d->initrd, sizeof(d->initrd)))
				return d->initrd[0] && !c->code
					       ? domain_xml_util_fail(c, RPC_ERR_XML,
								      "<initrd> given twice")
					       : -1;
			if (!d->initrd[0])
				return domain_xml_util_fail(c, RPC_ERR_XML, "<initrd> is empty");
		} else if (domain_xml_util_is(k, "cmdline")) {
			if (domain_xml_util_attrs_only(c, k, NULL) ||
			    domain_xml_util_text(c, k, d->cmdline, sizeof(d->cmdline)))
				return -1;
		} else {
			return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
						    "unsupported element <os>/<%s>",
						    domain_xml_util_name(k));
		}
	}
	if (!d->kernel[0])
		return domain_xml_util_fail(c, RPC_ERR_XML,
					    "<os> needs a <kernel> (the guest image)");
	if (d->kernel[0] != '/')
		return domain_xml_util_fail(
			c, RPC_ERR_XML, "<kernel> must be an absolute path, not '%s'", d->kernel);
	if (d->initrd[0] && d->initrd[0] != '/')
		return domain_xml_util_fail(
			c, RPC_ERR_XML, "<initrd> must be an absolute path, not '%s'", d->initrd);
	return 0;
}

static int parse_disk(struct domain_xml_util_ctx *c, const xmlNode *n, struct domain_xml_def *d)
{
	static const char *const disk_attrs[] = {"type", "device", NULL};
	static const char *const src_attrs[] = {"protocol", "name", NULL};
	static const char *const host_attrs[] = {"name", "port", NULL};
	static const char *const target_attrs[] = {"dev", "bus", NULL};
	struct domain_xml_disk *k;
	char v[64];

	if (d->nr_disks == DOM_MAX_DISKS)
		return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED, "more than %d disks",
					    DOM_MAX_DISKS);
	k = &d->disks[d->nr_disks];
	memset(k, 0, sizeof(*k));
	if (domain_xml_util_attrs_only(c, n, disk_attrs) ||
	    domain_xml_util_attr(c, n, "type", v, sizeof(v)))
		return -1;
	if (strcmp(v, "network"))
		return domain_xml_util_fail(
			c, RPC_ERR_CONFIG_UNSUPPORTED,
			"disk type '%s' is not supported: disks are network disks naming "
			"volumes on storage servers",
			v);
	if (domain_xml_util_attr(c, n, "device", v, sizeof(v)) || (v[0] && strcmp(v, "disk")))
		return c->code ? -1
			       : domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
						      "disk device '%s' is not supported", v);
	bool seen_source = false, seen_target = false;

	for (const xmlNode *e = n->children; e; e = e->next) {
		if (e->type != XML_ELEMENT_NODE)
			continue;
		if ((domain_xml_util_is(e, "source") && seen_source) ||
		    (domain_xml_util_is(e, "target") && seen_target) ||
		    (domain_xml_util_is(e, "readonly") && k->readonly) ||
		    (domain_xml_util_is(e, "shareable") && k->shareable))
			return domain_xml_util_fail(c, RPC_ERR_XML, "<disk>/<%s> given twice",
						    domain_xml_util_name(e));
		seen_source |= domain_xml_util_is(e, "source");
		seen_target |= domain_xml_util_is(e, "target");
		if (domain_xml_util_is(e, "source")) {
			if (domain_xml_util_attrs_only(c, e, src_attrs) ||
			    domain_xml_util_attr(c, e, "protocol", v, sizeof(v)))
				return -1;
			if (strcmp(v, "lego"))
				return domain_xml_util_fail(
					c, RPC_ERR_CONFIG_UNSUPPORTED,
					"disk source protocol '%s' is not supported (lego)", v);
			if (domain_xml_util_attr(c, e, "name", k->volume, sizeof(k->volume)))
				return -1;
			for (const xmlNode *h = e->children; h; h = h->next) {
				char port[16], *end;
				unsigned long p;

				if (h->type != XML_ELEMENT_NODE)
					continue;
				if (!domain_xml_util_is(h, "host") || k->host[0])
					return domain_xml_util_fail(
						c, RPC_ERR_CONFIG_UNSUPPORTED,
						"<source> takes one <host>, not <%s>",
						domain_xml_util_name(h));
				if (domain_xml_util_attrs_only(c, h, host_attrs) ||
				    domain_xml_util_attr(c, h, "name", k->host, sizeof(k->host)) ||
				    domain_xml_util_attr(c, h, "port", port, sizeof(port)))
					return -1;
				p = strtoul(port, &end, 10);
				if (!k->host[0] || !port[0] || *end || p < 1 || p > 65535)
					return domain_xml_util_fail(
						c, RPC_ERR_XML,
						"<host> needs a name and a port of 1..65535");
				k->port = (unsigned)p;
			}
		} else if (domain_xml_util_is(e, "target")) {
			if (domain_xml_util_attrs_only(c, e, target_attrs) ||
			    domain_xml_util_attr(c, e, "dev", k->target, sizeof(k->target)) ||
			    domain_xml_util_attr(c, e, "bus", v, sizeof(v)))
				return -1;
			if (v[0] && strcmp(v, "virtio"))
				return domain_xml_util_fail(
					c, RPC_ERR_CONFIG_UNSUPPORTED,
					"disk bus '%s' is not supported (virtio)", v);
		} else if (domain_xml_util_is(e, "readonly")) {
			k->readonly = true;
		} else if (domain_xml_util_is(e, "shareable")) {
			k->shareable = true;
		} else {
			return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
						    "unsupported element <disk>/<%s>",
						    domain_xml_util_name(e));
		}
	}
	if (!name_ok(k->volume, DOM_VOLUME_MAX))
		return domain_xml_util_fail(
			c, RPC_ERR_XML,
			"a disk's <source name='...'> must name a volume: 1-64 of "
			"[A-Za-z0-9._-]");
	d->nr_disks++;
	return 0;
}

/* <lego:replication factor='N'/>: the copies of each vRegion, each on its own server. */
static int parse_replication(struct domain_xml_util_ctx *c, const xmlNode *e,
			     struct domain_xml_def *d)
{
	static const char *const attrs[] = {"factor", NULL};
	char v[16], t[8], *end;
	unsigned long n;

	if (d->replication)
		return domain_xml_util_fail(c, RPC_ERR_XML, "<lego:replication> given twice");
	if (domain_xml_util_attrs_only(c, e, attrs) ||
	    domain_xml_util_attr(c, e, "factor", v, sizeof(v)) ||
	    domain_xml_util_text(c, e, t, sizeof(t)))
		return -1;
	if (t[0])
		return domain_xml_util_fail(c, RPC_ERR_XML,
					    "<lego:replication> takes no text, only factor='N'");
	n = strtoul(v, &end, 10);
	if (!v[0] || *end || v[0] < '0' || v[0] > '9' || n < 1 || n > DOM_MAX_COPIES)
		return domain_xml_util_fail(
			c, RPC_ERR_XML, "<lego:replication factor='%s'>: the factor must be 1..%d",
			v, DOM_MAX_COPIES);
	d->replication = (unsigned)n;
	return 0;
}

static int parse_metadata(struct domain_xml_util_ctx *c, const xmlNode *md,
			  struct domain_xml_def *d)
{
	for (const xmlNode *v = md->children; v; v = v->next) {
		if (v->type != XML_ELEMENT_NODE)
			continue;
		if (!v->ns || strcmp((const char *)v->ns->href, DOM_XMLNS)) {
			/* Another application's: kept as it is. */
			int rc = domain_xml_meta_foreign(v, d, c->err, c->errlen);

			if (rc)
				return c->code = rc, -1;
			continue;
		}
		if (!domain_xml_util_is(v, "vnode"))
			return domain_xml_util_fail(
				c, RPC_ERR_CONFIG_UNSUPPORTED,
				"lego metadata element <%s> is not known: only <vnode "
				"xmlns='%s'>",
				domain_xml_util_name(v), DOM_XMLNS);
		for (const xmlNode *e = v->children; e; e = e->next) {
			static const char *const place_attrs[] = {"processor", "memory", "storage",
								  NULL};

			if (e->type != XML_ELEMENT_NODE)
				continue;
			if (domain_xml_util_is(e, "excache")) {
				if (size_kib(c, e, &d->excache_kib))
					return -1;
				if (d->excache_kib < 1024)
					return domain_xml_util_fail(
						c, RPC_ERR_XML, "<excache> must be at least 1 MiB");
			} else if (domain_xml_util_is(e, "placement")) {
				if (domain_xml_util_attrs_only(c, e, place_attrs) ||
				    domain_xml_util_attr(c, e, "processor", d->place_processor,
							 sizeof(d->place_processor)) ||
				    domain_xml_util_attr(c, e, "memory", d->place_memory,
							 sizeof(d->place_memory)) ||
				    domain_xml_util_attr(c, e, "storage", d->place_storage,
							 sizeof(d->place_storage)))
					return -1;
			} else if (domain_xml_util_is(e, "replication")) {
				if (parse_replication(c, e, d))
					return -1;
			} else {
				return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
							    "unknown element <vnode>/<%s>",
							    domain_xml_util_name(e));
			}
		}
	}
	return 0;
}

static int parse_domain(struct domain_xml_util_ctx *c, const xmlNode *root,
			struct domain_xml_def *d)
{
	static const char *const root_attrs[] = {"type", "id", NULL};
	bool seen_mem = false, seen_cur = false, seen_vcpu = false, seen_os = false;
	char v[64];

	if (!root || !domain_xml_util_is(root, "domain"))
		return domain_xml_util_fail(c, RPC_ERR_XML, "the root element must be <domain>");
	if (domain_xml_util_attrs_only(c, root, root_attrs) ||
	    domain_xml_util_attr(c, root, "type", v, sizeof(v)))
		return -1;
	if (strcmp(v, "lego") && strcmp(v, "kvm"))
		return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
					    "domain type '%s' is not supported (lego, kvm)",
					    v[0] ? v : "(none)");
	for (const xmlNode *n = root->children; n; n = n->next) {
		if (n->type == XML_TEXT_NODE) {
			for (const xmlChar *t = n->content; *t; t++)
				if (!isspace(*t))
					return domain_xml_util_fail(
						c, RPC_ERR_XML, "text outside any element: '%.20s'",
						(const char *)n->content);
			continue;
		}
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (domain_xml_util_is(n, "name")) {
			if (d->name[0])
				return domain_xml_util_fail(c, RPC_ERR_XML, "<name> given twice");
			if (domain_xml_util_attrs_only(c, n, NULL) ||
			    domain_xml_util_text(c, n, d->name, sizeof(d->name)))
				return -1;
		} else if (domain_xml_util_is(n, "uuid")) {
			char u[64];

			if (d->has_uuid || domain_xml_util_attrs_only(c, n, NULL) ||
			    domain_xml_util_text(c, n, u, sizeof(u)))
				return c->code ? -1
					       : domain_xml_util_fail(c, RPC_ERR_XML,
								      "<uuid> given twice");
			if (uuid_str_parse(u, d->uuid))
				return domain_xml_util_fail(c, RPC_ERR_XML, "'%s' is not a UUID",
							    u);
			d->has_uuid = true;
		} else if (domain_xml_util_is(n, "memory") && !seen_mem) {
			seen_mem = true;
			if (size_kib(c, n, &d->memory_kib))
				return -1;
		} else if (domain_xml_util_is(n, "currentMemory") && !seen_cur) {
			seen_cur = true;
			if (size_kib(c, n, &d->current_kib))
				return -1;
		} else if (domain_xml_util_is(n, "vcpu") && !seen_vcpu) {
			static const char *const vcpu_attrs[] = {"placement", NULL};
			char t[16], *end;
			unsigned long nr;

			seen_vcpu = true;
			if (domain_xml_util_attrs_only(c, n, vcpu_attrs) ||
			    domain_xml_util_attr(c, n, "placement", v, sizeof(v)) ||
			    domain_xml_util_text(c, n, t, sizeof(t)))
				return -1;
			if (v[0] && strcmp(v, "static"))
				return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
							    "vcpu placement '%s' is not supported",
							    v);
			nr = strtoul(t, &end, 10);
			if (!t[0] || *end || nr < 1 || nr > DOM_MAX_VCPUS)
				return domain_xml_util_fail(c, RPC_ERR_XML,
							    "<vcpu> must be 1..%d, not '%s'",
							    DOM_MAX_VCPUS, t);
			d->vcpus = (unsigned)nr;
		} else if (domain_xml_util_is(n, "os") && !seen_os) {
			seen_os = true;
			if (parse_os(c, n, d))
				return -1;
		} else if (domain_xml_util_is(n, "devices")) {
			for (const xmlNode *k = n->children; k; k = k->next) {
				if (k->type != XML_ELEMENT_NODE)
					continue;
				if (domain_xml_util_is(k, "interface")) {
					if (domain_xml_iface_parse(c, k, d))
						return -1;
					continue;
				}
				if (!domain_xml_util_is(k, "disk"))
					return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
								    "device <%s> is not supported",
								    domain_xml_util_name(k));
				if (parse_disk(c, k, d))
					return -1;
			}
		} else if (domain_xml_util_is(n, "metadata")) {
			if (parse_metadata(c, n, d))
				return -1;
		} else if (domain_xml_util_is(n, "memory") ||
			   domain_xml_util_is(n, "currentMemory") ||
			   domain_xml_util_is(n, "vcpu") || domain_xml_util_is(n, "os")) {
			return domain_xml_util_fail(c, RPC_ERR_XML, "<%s> given twice",
						    domain_xml_util_name(n));
		} else {
			int rc = domain_xml_meta_element(n, d, c->err, c->errlen);

			if (rc == 1)
				return domain_xml_util_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
							    "unsupported element <%s>",
							    domain_xml_util_name(n));
			if (rc)
				return c->code = rc, -1;
		}
	}
	if (!dom_name_ok(d->name))
		return domain_xml_util_fail(
			c, RPC_ERR_XML,
			"<name> must be 1-64 bytes of UTF-8 text without '/' or control "
			"characters, not starting with '.'");
	if (!seen_mem || !d->memory_kib)
		return domain_xml_util_fail(c, RPC_ERR_XML,
					    "<memory> is required and must not be 0");
	if (!seen_os)
		return domain_xml_util_fail(c, RPC_ERR_XML, "<os> with a <kernel> is required");
	if (!seen_cur)
		d->current_kib = d->memory_kib;
	if (d->current_kib > d->memory_kib)
		return domain_xml_util_fail(c, RPC_ERR_XML,
					    "<currentMemory> is larger than <memory>");
	if (d->excache_kib > d->memory_kib)
		return domain_xml_util_fail(c, RPC_ERR_XML,
					    "the ExCache (<lego:excache>) is larger than <memory>");
	if (!seen_vcpu)
		d->vcpus = 1;
	return 0;
}

/* The parse's first error, caught by its own context's structured handler. */
struct first_error {
	char text[200];
	bool seen;
};

static void catch_error(void *data, xmlError *e)
{
	xmlParserCtxt *p = data;
	struct first_error *f = p ? p->_private : NULL;

	if (!f || f->seen || !e || e->level < XML_ERR_ERROR)
		return;
	f->seen = true;
	snprintf(f->text, sizeof(f->text), "%s", e->message ? e->message : "");
}

/* Parse with a context of our own whose handler keeps this parse's first error: never the
 * thread's or another client's last one (libxml2's global last error is not reset by a
 * parse that fails before it starts, such as one of an empty text). */
static xmlDoc *read_doc(struct domain_xml_util_ctx *c, const char *xml, size_t len)
{
	struct first_error f = {.seen = false};
	xmlParserCtxt *p;
	xmlDoc *doc;
	size_t n;

	for (n = 0; n < len && isspace((unsigned char)xml[n]); n++)
		;
	if (n == len) {
		domain_xml_util_fail(c, RPC_ERR_XML,
				     "empty domain XML: a <domain> definition is needed");
		return NULL;
	}
	p = xmlNewParserCtxt();
	if (!p) {
		domain_xml_util_fail(c, RPC_ERR_INTERNAL, "out of memory for the XML parser");
		return NULL;
	}
	p->_private = &f;
	p->userData = p;
	p->sax->serror = catch_error;
	/* No network, no entity expansion: a definition is data, never a fetch. */
	doc = xmlCtxtReadMemory(p, xml, (int)len, "domain.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc && (!p->wellFormed || f.seen)) {
		xmlFreeDoc(doc); /* recovered from an error: not accepted */
		doc = NULL;
	}
	if (!doc) {
		domain_xml_util_fail(c, RPC_ERR_XML, "not well-formed XML%s%s",
				     f.text[0] ? ": " : "", f.text);
		/* libxml2's messages end in a newline. */
		n = strlen(c->err);
		if (n && c->err[n - 1] == '\n')
			c->err[n - 1] = '\0';
	}
	xmlFreeParserCtxt(p);
	return doc;
}

int domain_xml_parse(const char *xml, size_t len, struct domain_xml_def *d, char *err,
		     size_t errlen)
{
	struct domain_xml_util_ctx c = {.err = err, .errlen = errlen};
	xmlDoc *doc;

	memset(d, 0, sizeof(*d));
	err[0] = '\0';
	if (len > 1 << 20)
		return domain_xml_util_fail(&c, RPC_ERR_XML, "domain XML larger than 1 MiB"),
		       c.code;
	doc = read_doc(&c, xml, len);
	if (!doc)
		return c.code;
	if (doc->intSubset || doc->extSubset)
		domain_xml_util_fail(&c, RPC_ERR_XML, "a DOCTYPE is not accepted in domain XML");
	else
		parse_domain(&c, xmlDocGetRootElement(doc), d);
	xmlFreeDoc(doc);
	return c.code;
}

char *domain_xml_format(const struct domain_xml_def *d, int id)
{
	char *out = NULL, uuid[UUID_STR_LEN];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	uuid_str_format(d->uuid, uuid);
	fprintf(f, "<domain type='lego'");
	if (id >= 0)
		fprintf(f, " id='%d'", id);
	fprintf(f, ">\n  <name>");
	domain_xml_util_esc(f, d->name);
	fprintf(f, "</name>\n");
	if (d->has_uuid)
		fprintf(f, "  <uuid>%s</uuid>\n", uuid);
	domain_xml_meta_format_head(f, d);
	fprintf(f,
		"  <memory unit='KiB'>%" PRIu64 "</memory>\n"
		"  <currentMemory unit='KiB'>%" PRIu64 "</currentMemory>\n"
		"  <vcpu placement='static'>%u</vcpu>\n"
		"  <os>\n    <type arch='x86_64'>hvm</type>\n    <kernel>",
		d->memory_kib, d->current_kib, d->vcpus);
	domain_xml_util_esc(f, d->kernel);
	fprintf(f, "</kernel>\n");
	if (d->initrd[0]) {
		fprintf(f, "    <initrd>");
		domain_xml_util_esc(f, d->initrd);
		fprintf(f, "</initrd>\n");
	}
	if (d->cmdline[0]) {
		fprintf(f, "    <cmdline>");
		domain_xml_util_esc(f, d->cmdline);
		fprintf(f, "</cmdline>\n");
	}
	fprintf(f, "  </os>\n");
	domain_xml_meta_format_actions(f, d);
	fprintf(f, "  <devices>\n");
	for (int i = 0; i < d->nr_disks; i++) {
		const struct domain_xml_disk *k = &d->disks[i];

		fprintf(f, "    <disk type='network' device='disk'>\n      <source protocol='lego' "
			   "name='");
		domain_xml_util_esc(f, k->volume);
		if (k->host[0]) {
			fprintf(f, "'>\n        <host name='");
			domain_xml_util_esc(f, k->host);
			fprintf(f, "' port='%u'/>\n      </source>\n", k->port);
		} else {
			fprintf(f, "'/>\n");
		}
		fprintf(f, "      <target");
		if (k->target[0]) {
			fprintf(f, " dev='");
			domain_xml_util_esc(f, k->target);
			fputc('\'', f);
		}
		fprintf(f, " bus='virtio'/>\n%s%s    </disk>\n",
			k->readonly ? "      <readonly/>\n" : "",
			k->shareable ? "      <shareable/>\n" : "");
	}
	domain_xml_iface_format(f, d, id);
	fprintf(f, "  </devices>\n");
	bool lego = d->excache_kib || d->place_processor[0] || d->place_memory[0] ||
		    d->place_storage[0] || d->replication;

	if (d->metadata[0] || lego)
		fprintf(f, "  <metadata>\n");
	for (const char *m = d->metadata; *m;) { /* other applications' as given */
		const char *nl = strchr(m, DOM_META_SEP);

		fprintf(f, "    %.*s\n", (int)(nl - m), m);
		m = nl + 1;
	}
	if (lego) {
		fprintf(f, "    <lego:vnode xmlns:lego='%s'>\n", DOM_XMLNS);
		if (d->excache_kib)
			fprintf(f, "      <lego:excache unit='KiB'>%" PRIu64 "</lego:excache>\n",
				d->excache_kib);
		if (d->place_processor[0] || d->place_memory[0] || d->place_storage[0]) {
			fprintf(f, "      <lego:placement");
			if (d->place_processor[0]) {
				fprintf(f, " processor='");
				domain_xml_util_esc(f, d->place_processor);
				fputc('\'', f);
			}
			if (d->place_memory[0]) {
				fprintf(f, " memory='");
				domain_xml_util_esc(f, d->place_memory);
				fputc('\'', f);
			}
			if (d->place_storage[0]) {
				fprintf(f, " storage='");
				domain_xml_util_esc(f, d->place_storage);
				fputc('\'', f);
			}
			fprintf(f, "/>\n");
		}
		if (d->replication)
			fprintf(f, "      <lego:replication factor='%u'/>\n", d->replication);
		fprintf(f, "    </lego:vnode>\n");
	}
	if (d->metadata[0] || lego)
		fprintf(f, "  </metadata>\n");
	fprintf(f, "</domain>\n");
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}
