/* domain_xml.h: a vNode's definition as libvirt domain XML (what `virsh define` sends and
 * `virsh dumpxml` shows), parsed strictly with libxml2 and written back.
 *
 *   <domain type='lego'>
 *     <name>vn1</name> <uuid>...</uuid>
 *     <memory unit='MiB'>256</memory> <currentMemory unit='MiB'>256</currentMemory>
 *     <vcpu>2</vcpu>
 *     <os><type>hvm</type><kernel>/path/guest.elf</kernel><cmdline>...</cmdline></os>
 *     (a Linux kernel may have <initrd>/path/initramfs</initrd> too)
 *     <devices>
 *       <disk type='network' device='disk'>
 *         <source protocol='lego' name='VOLUME'><host name='H' port='P'/></source>
 *         <target dev='vda' bus='virtio'/> <readonly/> (or <shareable/>)
 *       </disk>
 *       <interface type='network'>       a NIC on one of lego-controld's networks
 *         <mac address='52:54:00:...'/>  (generated when absent: unique in the cluster)
 *         <source network='default'/> <model type='virtio'/>
 *         <ip address='10.77.0.5' prefix='16'/>   (allocated when absent; lego's own)
 *       </interface>
 *     </devices>
 *     <title>one line</title> <description>any text</description>
 *     <on_poweroff>destroy|restart</on_poweroff> (also <on_reboot>; <on_crash> the same:
 *       lego-vmm ends a Linux guest's reboot as its power-off, so both follow on_poweroff)
 *     <metadata>
 *       <app:thing xmlns:app='...'>...</app:thing>   other applications': kept verbatim
 *       <lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
 *         <lego:excache unit='MiB'>64</lego:excache>
 *         <lego:placement processor='HOST' memory='MMON[,MMON]' storage='SMON'/>
 *         <lego:replication factor='2'/>   copies of each vRegion, on as many servers
 *       </lego:vnode>
 *     </metadata>
 *   </domain>
 *
 * Anything else is refused with the element's name, so a typo never silently changes a
 * vNode. Errors carry the libvirt error code a client expects (XML_ERROR for what is not
 * XML or misses what is required, CONFIG_UNSUPPORTED for what lego does not do). */
#ifndef LEGO_DOMAIN_XML_H
#define LEGO_DOMAIN_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOM_NAME_MAX   64
#define DOM_VOLUME_MAX 64
#define DOM_MAX_DISKS  8
#define DOM_MAX_VCPUS  64
#define DOM_MAX_COPIES 4 /* replication factor: lego-vmm keeps at most 4 copies */
#define DOM_MAX_IFACES 8
#define DOM_XMLNS      "https://lego.dev/xmlns/vnode/1"
#define DOM_TITLE_MAX  1024
#define DOM_DESC_MAX   8192
#define DOM_META_MAX   16384  /* other applications' <metadata> elements, verbatim */
#define DOM_META_SEP   '\x1e' /* ends each of them (XML text never holds it) */

/* <on_poweroff>, <on_reboot>, <on_crash>: what lego-controld does when the guest ends. */
enum domain_xml_action { DOM_ACTION_DEFAULT = 0, DOM_ACTION_DESTROY, DOM_ACTION_RESTART };

/* A NIC: its MAC and address are filled in when the definition is accepted
 * (controld_net_assign), so a stored definition always has both. */
struct domain_xml_iface {
	char network[DOM_NAME_MAX + 1];
	uint8_t mac[6];
	bool has_mac;
	uint32_t ip;	 /* IPv4, host order; 0: none yet */
	uint32_t prefix; /* the network's prefix length; 0 with ip 0 */
};

struct domain_xml_disk {
	char volume[DOM_VOLUME_MAX + 1];
	char host[256]; /* "" when placement is left to the control plane */
	unsigned port;
	char target[16];
	bool readonly;
	bool shareable; /* <shareable/>: may be attached read-write to several running vNodes */
};

struct domain_xml_def {
	char name[DOM_NAME_MAX + 1];
	uint8_t uuid[16];
	bool has_uuid;
	uint64_t memory_kib, current_kib;
	unsigned vcpus;
	char kernel[4096];
	char initrd[4096]; /* "" if none: a Linux kernel's initramfs */
	char cmdline[4096];
	int nr_disks;
	struct domain_xml_disk disks[DOM_MAX_DISKS];
	int nr_ifaces;
	struct domain_xml_iface ifaces[DOM_MAX_IFACES];
	uint64_t excache_kib; /* 0: all of the RAM */
	char place_processor[DOM_NAME_MAX + 1];
	char place_memory[256];
	char place_storage[DOM_NAME_MAX + 1];
	unsigned replication; /* copies of each vRegion, 1..DOM_MAX_COPIES; 0: controld's default */
	char title[DOM_TITLE_MAX];		  /* <title>: one line ("" if none) */
	char description[DOM_DESC_MAX];		  /* <description> */
	uint8_t on_poweroff, on_reboot, on_crash; /* enum domain_xml_action */
	char metadata[DOM_META_MAX]; /* other applications' <metadata> elements, as given, each
				      * ended by DOM_META_SEP */
};

/* Parse xml[0..len) into d. Returns 0, or a libvirt error code (27 XML_ERROR, 67
 * CONFIG_UNSUPPORTED) with what is wrong in err. */
int domain_xml_parse(const char *xml, size_t len, struct domain_xml_def *d, char *err,
		     size_t errlen);
/* The definition as domain XML (malloc'ed), with id -1 when inactive (an active one shows
 * each interface's tap as its <target dev>); NULL if out of memory. */
char *domain_xml_format(const struct domain_xml_def *d, int id);

#endif
