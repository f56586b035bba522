/* libvirt_host.c: the libvirt procedures about the host (the cluster) rather than one vNode:
 * the classic list and count calls older scripts use, capabilities and domain capabilities
 * (lego's guest kinds and devices), the maximum vCPUs, and the library version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/controld_registry.h"
#include "domain_xml.h"
#include "lib/strbuf.h"
#include "libvirt_dispatch.h"

#define DOMAIN_LIST_MAX 16384 /* REMOTE_DOMAIN_LIST_MAX */
/* The libvirt release whose remote protocol lego-controld speaks (Debian 12's 9.0.0):
 * what libvirtd answers to GET_LIB_VERSION, and what clients compare to decide which calls
 * they may make. lego's own version is GET_VERSION's. */
#define LIBVIRT_PROTOCOL_VERSION 9000000ULL

/* ---- the classic list and count calls ------------------------------------------------- */

/* LIST_DOMAINS (int maxids): the ids of the active vNodes. */
enum libvirt_result libvirt_host_list_ids(struct libvirt_call *c)
{
	size_t count_at;
	uint32_t n = 0;

	if (c->a->i1 < 0 || c->a->i1 > DOMAIN_LIST_MAX)
		return libvirt_dispatch_fail(c, RPC_ERR_RPC, "maxids %d is not 0..%d", c->a->i1,
					     DOMAIN_LIST_MAX);
	libvirt_dispatch_lock(c);
	count_at = c->o->len;
	xdr_put_u32(c->o, 0);
	for (int i = 0; i < controld_registry_nr_vnodes() && n < (uint32_t)c->a->i1; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		if (v->id >= 0) {
			xdr_put_i32(c->o, v->id);
			n++;
		}
	}
	xdr_patch_u32(c->o, count_at, n);
	return LIBVIRT_REPLY;
}

/* LIST_DEFINED_DOMAINS (int maxnames): the names of the inactive (defined) vNodes. */
enum libvirt_result libvirt_host_list_defined(struct libvirt_call *c)
{
	size_t count_at;
	uint32_t n = 0;

	if (c->a->i1 < 0 || c->a->i1 > DOMAIN_LIST_MAX)
		return libvirt_dispatch_fail(c, RPC_ERR_RPC, "maxnames %d is not 0..%d", c->a->i1,
					     DOMAIN_LIST_MAX);
	libvirt_dispatch_lock(c);
	count_at = c->o->len;
	xdr_put_u32(c->o, 0);
	for (int i = 0; i < controld_registry_nr_vnodes() && n < (uint32_t)c->a->i1; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		if (v->id < 0) {
			xdr_put_string(c->o, v->def.name);
			n++;
		}
	}
	xdr_patch_u32(c->o, count_at, n);
	return LIBVIRT_REPLY;
}

static int count(bool active)
{
	int n = 0;

	for (int i = 0; i < controld_registry_nr_vnodes(); i++)
		n += (controld_registry_vnode_at(i)->id >= 0) == active;
	return n;
}

/* NUM_OF_DOMAINS and NUM_OF_DEFINED_DOMAINS. */
enum libvirt_result libvirt_host_num_active(struct libvirt_call *c)
{
	libvirt_dispatch_lock(c);
	xdr_put_i32(c->o, count(true));
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_host_num_defined(struct libvirt_call *c)
{
	libvirt_dispatch_lock(c);
	xdr_put_i32(c->o, count(false));
	return LIBVIRT_REPLY;
}

/* ---- versions and limits ---------------------------------------------------------------- */

enum libvirt_result libvirt_host_lib_version(struct libvirt_call *c)
{
	xdr_put_u64(c->o, LIBVIRT_PROTOCOL_VERSION);
	return LIBVIRT_REPLY;
}

/* CONNECT_GET_MAX_VCPUS (remote_string type). */
enum libvirt_result libvirt_host_max_vcpus(struct libvirt_call *c)
{
	if (c->a->name && strcmp(c->a->name, "lego") && strcmp(c->a->name, "kvm"))
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "invalid argument: unknown virtualization type '%s' "
					     "(lego, kvm)",
					     c->a->name);
	xdr_put_i32(c->o, DOM_MAX_VCPUS);
	return LIBVIRT_REPLY;
}

/* ---- capabilities ----------------------------------------------------------------------- */

/* The cluster as the host: its processor hosts' cores and memory servers' capacity. */
static void host_figures(uint32_t *cores, uint32_t *hosts, uint64_t *mem)
{
	*cores = *hosts = 0;
	*mem = 0;
	controld_registry_lock();
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *k = controld_registry_component_at(i);

		if (k->alive && k->kind == CP_KIND_PMON) {
			*cores += k->cores;
			(*hosts)++;
		} else if (k->alive && k->kind == CP_KIND_MMON) {
			*mem += k->capacity;
		}
	}
	controld_registry_unlock();
}

/* lego's guest kinds (what <os><kernel> may name), in lego's namespace. */
static void guest_kinds(struct strbuf *b, const char *indent)
{
	strbuf_printf(b,
		      "%s<lego:guests xmlns:lego='%s'>\n"
		      "%s  <lego:guest kind='elf' initrd='no'>a freestanding x86-64 ELF guest "
		      "(lego-guest.elf)</lego:guest>\n"
		      "%s  <lego:guest kind='linux' initrd='yes'>a Linux kernel (bzImage or "
		      "vmlinux) with its initramfs and command line</lego:guest>\n"
		      "%s</lego:guests>\n",
		      indent, DOM_XMLNS, indent, indent, indent);
}

enum libvirt_result libvirt_host_capabilities(struct libvirt_call *c)
{
	struct strbuf b;
	uint32_t cores, hosts;
	uint64_t mem;

	host_figures(&cores, &hosts, &mem);
	strbuf_init(&b, 0);
	strbuf_printf(&b,
		      "<capabilities>\n"
		      "  <host>\n"
		      "    <cpu>\n      <arch>x86_64</arch>\n"
		      "      <topology sockets='%u' dies='1' cores='%u' threads='1'/>\n"
		      "    </cpu>\n"
		      "    <power_management/>\n"
		      "    <migration_features>\n      <live/>\n"
		      "      <uri_transports>\n        <uri_transport>tcp</uri_transport>\n"
		      "      </uri_transports>\n    </migration_features>\n"
		      "    <topology>\n      <cells num='1'>\n        <cell id='0'>\n"
		      "          <memory unit='KiB'>%llu</memory>\n"
		      "          <cpus num='%u'/>\n        </cell>\n      </cells>\n"
		      "    </topology>\n"
		      "  </host>\n"
		      "  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n"
		      "      <wordsize>64</wordsize>\n      <emulator>lego-vmm</emulator>\n"
		      "      <domain type='lego'/>\n      <domain type='kvm'/>\n    </arch>\n"
		      "    <features>\n      <acpi default='on' toggle='no'/>\n"
		      "      <apic default='on' toggle='no'/>\n    </features>\n",
		      hosts ? hosts : 1, hosts ? cores / hosts : 0,
		      (unsigned long long)(mem / 1024), cores);
	guest_kinds(&b, "    ");
	strbuf_printf(&b, "  </guest>\n</capabilities>\n");
	if (b.failed) {
		strbuf_free(&b);
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	}
	xdr_put_string(c->o, b.p);
	strbuf_free(&b);
	return LIBVIRT_REPLY;
}

/* CONNECT_GET_DOMAIN_CAPABILITIES (emulatorbin, arch, machine, virttype: remote_string
 * each; flags): what a vNode's XML may hold. */
enum libvirt_result libvirt_host_domain_capabilities(struct libvirt_call *c)
{
	const struct libvirt_args *a = c->a;
	struct strbuf b;

	if (a->flags)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG, "unsupported flags (0x%x)",
					     a->flags);
	if (a->caps[1] && strcmp(a->caps[1], "x86_64"))
		return libvirt_dispatch_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
					     "unsupported configuration: architecture '%s' "
					     "(x86_64)",
					     a->caps[1]);
	if (a->caps[3] && strcmp(a->caps[3], "lego") && strcmp(a->caps[3], "kvm"))
		return libvirt_dispatch_fail(c, RPC_ERR_CONFIG_UNSUPPORTED,
					     "unsupported configuration: virtualization type '%s' "
					     "(lego, kvm)",
					     a->caps[3]);
	strbuf_init(&b, 0);
	strbuf_printf(&b,
		      "<domainCapabilities>\n  <path>lego-vmm</path>\n  <domain>%s</domain>\n"
		      "  <machine>lego</machine>\n  <arch>x86_64</arch>\n"
		      "  <vcpu max='%d'/>\n  <iothreads supported='no'/>\n"
		      "  <os supported='yes'>\n    <enum name='firmware'/>\n"
		      "    <loader supported='no'/>\n  </os>\n"
		      "  <cpu>\n    <mode name='host-passthrough' supported='no'/>\n"
		      "    <mode name='host-model' supported='no'/>\n"
		      "    <mode name='custom' supported='no'/>\n  </cpu>\n"
		      "  <memoryBacking supported='yes'>\n"
		      "    <enum name='sourceType'>\n      <value>memfd</value>\n    </enum>\n"
		      "  </memoryBacking>\n"
		      "  <devices>\n"
		      "    <disk supported='yes'>\n"
		      "      <enum name='diskDevice'>\n        <value>disk</value>\n      </enum>\n"
		      "      <enum name='bus'>\n        <value>virtio</value>\n      </enum>\n"
		      "      <enum name='model'/>\n    </disk>\n"
		      "    <graphics supported='no'/>\n    <video supported='no'/>\n"
		      "    <hostdev supported='no'/>\n    <rng supported='no'/>\n"
		      "    <filesystem supported='no'/>\n    <tpm supported='no'/>\n"
		      "    <redirdev supported='no'/>\n    <channel supported='no'/>\n"
		      "    <console supported='yes'>\n"
		      "      <enum name='type'>\n        <value>pty</value>\n      </enum>\n"
		      "    </console>\n"
		      "  </devices>\n"
		      "  <features>\n    <gic supported='no'/>\n    <vmcoreinfo supported='no'/>\n"
		      "    <genid supported='no'/>\n    <sev supported='no'/>\n  </features>\n",
		      a->caps[3] ? a->caps[3] : "lego", DOM_MAX_VCPUS);
	guest_kinds(&b, "  ");
	strbuf_printf(&b, "</domainCapabilities>\n");
	if (b.failed) {
		strbuf_free(&b);
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	}
	xdr_put_string(c->o, b.p);
	strbuf_free(&b);
	return LIBVIRT_REPLY;
}
