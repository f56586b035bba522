/* test_domain_xml.c: domain XML for vNodes: a full definition, the round trip through
 * dumpxml's format, and every refusal with its libvirt error code and message. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controlplane/controld/libvirt/domain_xml.h"
#include "lib/uuid_str.h"

#define XML_ERROR   27
#define UNSUPPORTED 67

static const char full[] =
	"<domain type='lego'>\n"
	"  <name>vn1</name>\n"
	"  <uuid>6f1c2b3a-0d4e-4f5a-8b6c-7d8e9fa0b1c2</uuid>\n"
	"  <memory unit='MiB'>256</memory>\n"
	"  <currentMemory unit='MiB'>128</currentMemory>\n"
	"  <vcpu placement='static'>2</vcpu>\n"
	"  <os><type arch='x86_64'>hvm</type><kernel>/srv/lego-guest.elf</kernel>\n"
	"      <initrd>/srv/initramfs.cpio</initrd>\n"
	"      <cmdline>run=memtest memtest.size=16M</cmdline></os>\n"
	"  <devices>\n"
	"    <disk type='network' device='disk'>\n"
	"      <source protocol='lego' name='vol-1'><host name='127.0.0.1' port='7420'/></source>\n"
	"      <target dev='vda' bus='virtio'/>\n"
	"    </disk>\n"
	"    <disk type='network'><source protocol='lego' name='data'/><readonly/></disk>\n"
	"  </devices>\n"
	"  <metadata>\n"
	"    <lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>\n"
	"      <lego:excache unit='MiB'>64</lego:excache>\n"
	"      <lego:placement processor='host1' memory='mm1,mm2' storage='st1'/>\n"
	"      <lego:replication factor='2'/>\n"
	"    </lego:vnode>\n"
	"  </metadata>\n"
	"</domain>\n";

static void check_full(const struct domain_xml_def *d)
{
	char uuid[UUID_STR_LEN];

	assert_string_equal(d->name, "vn1");
	assert_true(d->has_uuid);
	uuid_str_format(d->uuid, uuid);
	assert_string_equal(uuid, "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9fa0b1c2");
	assert_true(d->memory_kib == 256 * 1024);
	assert_true(d->current_kib == 128 * 1024);
	assert_int_equal(d->vcpus, 2);
	assert_string_equal(d->kernel, "/srv/lego-guest.elf");
	assert_string_equal(d->initrd, "/srv/initramfs.cpio");
	assert_string_equal(d->cmdline, "run=memtest memtest.size=16M");
	assert_int_equal(d->nr_disks, 2);
	assert_string_equal(d->disks[0].volume, "vol-1");
	assert_string_equal(d->disks[0].host, "127.0.0.1");
	assert_int_equal(d->disks[0].port, 7420);
	assert_false(d->disks[0].readonly);
	assert_string_equal(d->disks[1].volume, "data");
	assert_string_equal(d->disks[1].host, "");
	assert_true(d->disks[1].readonly);
	assert_true(d->excache_kib == 64 * 1024);
	assert_string_equal(d->place_processor, "host1");
	assert_string_equal(d->place_memory, "mm1,mm2");
	assert_string_equal(d->place_storage, "st1");
	assert_int_equal(d->replication, 2);
}

static void test_full_and_round_trip(void **state)
{
	struct domain_xml_def d, e;
	char err[256];
	char *xml;

	(void)state;
	assert_int_equal(domain_xml_parse(full, strlen(full), &d, err, sizeof(err)), 0);
	check_full(&d);
	xml = domain_xml_format(&d, 3);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<domain type='lego' id='3'>"));
	assert_int_equal(domain_xml_parse(xml, strlen(xml), &e, err, sizeof(err)), 0);
	check_full(&e);
	free(xml);
}

static void test_defaults_and_units(void **state)
{
	static const char xml[] = "<domain type='kvm'><name>a</name><memory>1</memory>"
				  "<os><kernel>/k</kernel></os></domain>";
	static const char gib[] = "<domain type='lego'><name>b</name><memory unit='G'>2</memory>"
				  "<currentMemory unit='bytes'>1025</currentMemory>"
				  "<os><kernel>/k</kernel></os></domain>";
	struct domain_xml_def d;
	char err[256];

	(void)state;
	assert_int_equal(domain_xml_parse(xml, strlen(xml), &d, err, sizeof(err)), 0);
	assert_true(d.memory_kib == 1); /* no unit: KiB */
	assert_true(d.current_kib == 1);
	assert_int_equal(d.vcpus, 1);
	assert_false(d.has_uuid);
	assert_int_equal(d.replication, 0); /* lego-controld's --replication decides */
	assert_int_equal(domain_xml_parse(gib, strlen(gib), &d, err, sizeof(err)), 0);
	assert_true(d.memory_kib == 2 * 1024 * 1024);
	assert_true(d.current_kib == 2); /* 1025 bytes round up to 2 KiB */
}

/* <uuid> through libuuid: libvirt's dash-less and upper-case forms are read, dumpxml
 * writes the canonical lower-case one; anything else is refused. */
static void test_uuid_forms(void **state)
{
	static const char *const good[] = {"6f1c2b3a0d4e4f5a8b6c7d8e9fa0b1c2",
					   "6F1C2B3A-0D4E-4F5A-8B6C-7D8E9FA0B1C2"};
	static const char *const bad[] = {
		"6f1c2b3a-0d4e-4f5a-8b6c-7d8e9fa0b1c", "6f1c2b3a0-d4e-4f5a-8b6c-7d8e9fa0b1c2",
		"6f1c2b3a-0d4e-4f5a-8b6c-7d8e9fa0b1c2-", "6f1c2b3a0d4e4f5a8b6c7d8e9fa0b1g2", ""};
	char xml[512], err[256], *out;
	struct domain_xml_def d;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(xml, sizeof(xml),
			 "<domain type='lego'><name>u</name><uuid>%s</uuid><memory>1024</memory>"
			 "<os><kernel>/k</kernel></os></domain>",
			 good[i]);
		assert_int_equal(domain_xml_parse(xml, strlen(xml), &d, err, sizeof(err)), 0);
		out = domain_xml_format(&d, -1);
		assert_non_null(out);
		assert_non_null(strstr(out, "<uuid>6f1c2b3a-0d4e-4f5a-8b6c-7d8e9fa0b1c2</uuid>"));
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml),
			 "<domain type='lego'><name>u</name><uuid>%s</uuid><memory>1024</memory>"
			 "<os><kernel>/k</kernel></os></domain>",
			 bad[i]);
		assert_int_equal(domain_xml_parse(xml, strlen(xml), &d, err, sizeof(err)),
				 XML_ERROR);
		assert_non_null(strstr(err, "is not a UUID"));
	}
}

/* The domain of full[] with `from` replaced by `to`: must fail with code and a message
 * containing want. */
static void refused(const char *from, const char *to, int code, const char *want)
{
	char xml[4096], err[256];
	const char *at = strstr(full, from);
	struct domain_xml_def d;
	int rc;

	assert_non_null(at);
	snprintf(xml, sizeof(xml), "%.*s%s%s", (int)(at - full), full, to, at + strlen(from));
	rc = domain_xml_parse(xml, strlen(xml), &d, err, sizeof(err));
	if (rc != code || !strstr(err, want))
		fail_msg("replacing '%s' by '%s': code %d '%s', expected %d '%s'", from, to, rc,
			 err, code, want);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("factor='2'", "factor='0'", XML_ERROR, "factor='0'>: the factor must be 1..4");
	refused("factor='2'", "factor='5'", XML_ERROR, "the factor must be 1..4");
	refused("factor='2'", "factor='+2'", XML_ERROR, "factor='+2'");
	refused("factor='2'", "factor=' 2'", XML_ERROR, "the factor must be 1..4");
	refused("factor='2'", "factor='2x'", XML_ERROR, "factor='2x'");
	refused("factor='2'", "factor=''", XML_ERROR, "the factor must be 1..4");
	refused(" factor='2'", "", XML_ERROR, "factor=''>");
	refused("factor='2'", "factor='2' mode='sync'", UNSUPPORTED,
		"unknown attribute 'mode' of <replication>");
	refused("factor='2'/>", "factor='2'>3</lego:replication>", XML_ERROR,
		"<lego:replication> takes no text");
	refused("factor='2'/>", "factor='2'><x/></lego:replication>", XML_ERROR,
		"must hold only text");
	refused("<lego:replication factor='2'/>",
		"<lego:replication factor='2'/><lego:replication factor='3'/>", XML_ERROR,
		"<lego:replication> given twice");
	refused("</domain>", "", XML_ERROR, "not well-formed XML");
	refused("<domain type='lego'>", "<domain type='xen'>", UNSUPPORTED,
		"domain type 'xen' is not supported");
	refused("<vcpu", "<cpu mode='host'/><vcpu", UNSUPPORTED, "unsupported element <cpu>");
	refused("<name>vn1</name>", "<name>vn1</name><name>x</name>", XML_ERROR,
		"<name> given twice");
	refused("<name>vn1</name>", "<name>../x</name>", XML_ERROR, "<name> must be 1-64");
	refused("6f1c2b3a-0d4e", "zz1c2b3a-0d4e", XML_ERROR, "is not a UUID");
	refused("<currentMemory unit='MiB'>128", "<currentMemory unit='MiB'>512", XML_ERROR,
		"<currentMemory> is larger than <memory>");
	refused("unit='MiB'>256", "unit='parsecs'>256", XML_ERROR, "unknown unit 'parsecs'");
	refused("unit='MiB'>256", "unit='MiB'>-1", XML_ERROR, "must be a whole number");
	refused("'static'>2<", "'static'>0<", XML_ERROR, "<vcpu> must be 1..64");
	refused("/srv/lego-guest.elf", "lego-guest.elf", XML_ERROR, "must be an absolute path");
	refused("<kernel>/srv/lego-guest.elf</kernel>", "", XML_ERROR, "needs a <kernel>");
	refused("/srv/initramfs.cpio", "initramfs.cpio", XML_ERROR,
		"<initrd> must be an absolute path, not 'initramfs.cpio'");
	refused("<initrd>/srv/initramfs.cpio</initrd>", "<initrd>/a</initrd><initrd>/b</initrd>",
		XML_ERROR, "<initrd> given twice");
	refused("<initrd>/srv/initramfs.cpio</initrd>", "<initrd> </initrd>", XML_ERROR,
		"<initrd> is empty");
	refused("<initrd>", "<initrd type='gz'>", UNSUPPORTED,
		"unknown attribute 'type' of <initrd>");
	refused("<disk type='network' device='disk'>", "<disk type='file' device='disk'>",
		UNSUPPORTED, "disk type 'file' is not supported");
	refused("name='vol-1'", "name='a/b'", XML_ERROR, "must name a volume");
	refused("port='7420'", "port='99999'", XML_ERROR, "port of 1..65535");
	refused("<target dev='vda' bus='virtio'/>", "<target dev='sda' bus='scsi'/>", UNSUPPORTED,
		"disk bus 'scsi'");
	refused("<devices>", "<devices><interface type='user'/>", UNSUPPORTED,
		"interface type 'user' is not supported");
	refused("<devices>", "<devices><console type='pty'/>", UNSUPPORTED,
		"device <console> is not supported");
	refused("<lego:excache unit='MiB'>64", "<lego:excache unit='MiB'>512", XML_ERROR,
		"ExCache");
	refused("<lego:placement", "<lego:colour/><lego:placement", UNSUPPORTED,
		"unknown element <vnode>/<colour>");
	refused("<lego:placement", "<lego:colour/><lego:placement", UNSUPPORTED,
		"unknown element <vnode>/<colour>");
	refused("<lego:vnode", "<l:other xmlns:l='https://lego.dev/xmlns/vnode/1'/><lego:vnode",
		UNSUPPORTED, "lego metadata element <other> is not known");
	refused("<metadata>", "<metadata><plain/>", XML_ERROR, "needs a namespace of its own");
	refused("<vcpu", "<on_crash>preserve</on_crash><vcpu", UNSUPPORTED,
		"<on_crash> 'preserve' is not supported");
	refused("<vcpu", "<on_poweroff>explode</on_poweroff><vcpu", XML_ERROR,
		"must be destroy or restart, not 'explode'");
	refused("<vcpu", "<title>two\nlines</title><vcpu", XML_ERROR, "one line");
	refused("<vcpu", "<title>a</title><title>b</title><vcpu", XML_ERROR, "<title> given twice");
	refused("<name>vn1</name>", "<name>a/b</name>", XML_ERROR, "without '/'");
	refused("<name>vn1</name>", "<name>.hidden</name>", XML_ERROR, "not starting with '.'");
	refused("<domain type='lego'>", "<!DOCTYPE domain [<!ENTITY x 'y'>]><domain type='lego'>",
		XML_ERROR, "DOCTYPE");
	refused("<memory unit='MiB'>256</memory>", "", XML_ERROR, "<memory> is required");
	refused("<vcpu placement='static'>", "<vcpu placement='auto'>", UNSUPPORTED,
		"vcpu placement 'auto'");
	refused("<name>vn1</name>", "<name>vn1<b/></name>", XML_ERROR, "must hold only text");
	refused("<target dev='vda' bus='virtio'/>",
		"<target dev='vda' bus='virtio'/><source protocol='lego' name='x'/>", XML_ERROR,
		"<disk>/<source> given twice"); /* found by fuzz_domain_xml */
}

/* A definition with interfaces: parsed, and written back the same. */
static const char nics[] =
	"<domain type='lego'><name>n1</name><memory unit='MiB'>16</memory>"
	"<os><kernel>/k</kernel></os><devices>"
	"<interface type='network'><source network='default'/>"
	"<mac address='52:54:00:AB:cd:01'/><model type='virtio'/>"
	"<ip address='10.77.0.9' prefix='16'/></interface>"
	"<interface type='network'><source network='other'/><target dev='vnet7'/></interface>"
	"</devices></domain>";

static void test_interfaces(void **state)
{
	struct domain_xml_def d, e;
	char err[256], *xml;

	(void)state;
	assert_int_equal(domain_xml_parse(nics, strlen(nics), &d, err, sizeof(err)), 0);
	assert_int_equal(d.nr_ifaces, 2);
	assert_string_equal(d.ifaces[0].network, "default");
	assert_true(d.ifaces[0].has_mac);
	assert_memory_equal(d.ifaces[0].mac, ((uint8_t[]){0x52, 0x54, 0, 0xab, 0xcd, 1}), 6);
	assert_true(d.ifaces[0].ip == (10U << 24 | 77U << 16 | 9));
	assert_int_equal(d.ifaces[0].prefix, 16);
	assert_string_equal(d.ifaces[1].network, "other");
	assert_false(d.ifaces[1].has_mac);
	assert_true(d.ifaces[1].ip == 0);
	/* An active definition shows each interface's tap, an inactive one none. */
	d.has_uuid = true;
	memset(d.uuid, 0xab, 16);
	xml = domain_xml_format(&d, 3);
	assert_non_null(strstr(xml, "<mac address='52:54:00:ab:cd:01'/>\n      <source "
				    "network='default'/>\n      <target dev='lt3n0'/>\n      "
				    "<model type='virtio'/>\n      <ip address='10.77.0.9' "
				    "prefix='16'/>"));
	assert_non_null(strstr(xml, "<target dev='lt3n1'/>"));
	assert_int_equal(domain_xml_parse(xml, strlen(xml), &e, err, sizeof(err)), 0);
	free(xml);
	assert_memory_equal(&d.ifaces, &e.ifaces, sizeof(d.ifaces));
	xml = domain_xml_format(&d, -1);
	assert_null(strstr(xml, "<target"));
	free(xml);
}

/* nics with `from` replaced by `to`: refused with code and a message containing want. */
static void nic_refused(const char *from, const char *to, int code, const char *want)
{
	char xml[4096], err[256];
	const char *at = strstr(nics, from);
	struct domain_xml_def d;
	int rc;

	assert_non_null(at);
	snprintf(xml, sizeof(xml), "%.*s%s%s", (int)(at - nics), nics, to, at + strlen(from));
	rc = domain_xml_parse(xml, strlen(xml), &d, err, sizeof(err));
	if (rc != code || !strstr(err, want))
		fail_msg("replacing '%s' by '%s': code %d '%s', expected %d '%s'", from, to, rc,
			 err, code, want);
}

static void test_interface_refusals(void **state)
{
	char many[2048] = "<devices>";

	(void)state;
	nic_refused("type='network'", "type='bridge'", UNSUPPORTED,
		    "interface type 'bridge' is not supported");
	nic_refused("<source network='default'/>", "", XML_ERROR, "needs <source network='NAME'/>");
	nic_refused("network='default'", "network='a b'", XML_ERROR, "must name a network");
	nic_refused("network='default'", "network='default' bridge='br0'", UNSUPPORTED,
		    "unknown attribute 'bridge' of <source>");
	nic_refused("52:54:00:AB:cd:01", "52:54:00:AB:cd", XML_ERROR, "is not a MAC address");
	nic_refused("52:54:00:AB:cd:01", "52-54-00-AB-cd-01", XML_ERROR, "is not a MAC address");
	nic_refused("52:54:00:AB:cd:01", "01:00:5e:00:00:01", XML_ERROR, "must be unicast");
	nic_refused("52:54:00:AB:cd:01", "00:00:00:00:00:00", XML_ERROR, "must be unicast");
	nic_refused("type='virtio'", "type='e1000'", UNSUPPORTED,
		    "interface model 'e1000' is not supported");
	nic_refused("<model type='virtio'/>", "<model type='virtio'/><model type='virtio'/>",
		    XML_ERROR, "<interface>/<model> given twice");
	nic_refused("10.77.0.9", "10.77.0.300", XML_ERROR, "is not an IPv4 address");
	nic_refused("10.77.0.9", "fd00::9", XML_ERROR, "is not an IPv4 address");
	nic_refused("prefix='16'", "prefix='31'", XML_ERROR, "prefix='31'> must be 8..30");
	nic_refused("prefix='16'", "prefix='016'", XML_ERROR, "must be 8..30");
	nic_refused("prefix='16'", "family='ipv6'", UNSUPPORTED, "lego's networks are IPv4");
	nic_refused("<ip address='10.77.0.9' prefix='16'/>",
		    "<ip address='10.77.0.9'/><ip address='10.77.0.8'/>", UNSUPPORTED,
		    "takes one <ip>");
	nic_refused("<ip address='10.77.0.9' prefix='16'/>", "<ip prefix='16'/>", XML_ERROR,
		    "is not an IPv4 address");
	nic_refused("<target dev='vnet7'/>", "<alias name='net0'/>", UNSUPPORTED,
		    "unsupported element <interface>/<alias>");
	nic_refused("<target dev='vnet7'/>", "<target dev='vnet7'><x/></target>", UNSUPPORTED,
		    "takes no content");
	for (int i = 0; i < DOM_MAX_IFACES; i++)
		strcat(many, "<interface type='network'><source network='n'/></interface>");
	nic_refused("<devices>", many, UNSUPPORTED, "more than 8 interfaces");
}

static void test_escaping(void **state)
{
	struct domain_xml_def d, e;
	char err[256], *xml;

	(void)state;
	assert_int_equal(domain_xml_parse(full, strlen(full), &d, err, sizeof(err)), 0);
	snprintf(d.cmdline, sizeof(d.cmdline), "a<b & c>'d\"");
	xml = domain_xml_format(&d, -1);
	assert_non_null(xml);
	assert_null(strstr(xml, " id="));
	assert_int_equal(domain_xml_parse(xml, strlen(xml), &e, err, sizeof(err)), 0);
	assert_string_equal(e.cmdline, "a<b & c>'d\"");
	free(xml);
}

/* <title>, <description>, <on_*>, a non-ASCII name and other applications' metadata (its
 * namespace declared on <metadata> or on itself) survive dumpxml and a define of it. */
static void test_meta_round_trip(void **state)
{
	static const char xml[] =
		"<domain type='lego'><name>\xe6\xb5\x8b\xe8\xaf\x95-vm</name>"
		"<title>web &amp; db</title><description>line 1\nline 2</description>"
		"<memory unit='MiB'>64</memory><os><kernel>/k</kernel></os>"
		"<on_poweroff>restart</on_poweroff><on_reboot>destroy</on_reboot>"
		"<on_crash>restart</on_crash>"
		"<metadata xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>"
		"<nova:instance><nova:name>vm  one</nova:name><nova:flavor x='1'/></nova:instance>"
		"<other xmlns='urn:x'><v>2</v></other></metadata></domain>";
	struct domain_xml_def *d = malloc(sizeof(*d)), *e = malloc(sizeof(*e));
	char err[256], *out;

	(void)state;
	assert_int_equal(domain_xml_parse(xml, strlen(xml), d, err, sizeof(err)), 0);
	assert_string_equal(d->title, "web & db");
	assert_int_equal(d->on_poweroff, DOM_ACTION_RESTART);
	assert_int_equal(d->on_crash, DOM_ACTION_RESTART);
	out = domain_xml_format(d, -1);
	assert_non_null(out);
	assert_non_null(strstr(out,
			       "<nova:instance xmlns:nova=\"http://openstack.org/xmlns/libvirt/"
			       "nova/1.1\"><nova:name>vm  one</nova:name>"));
	assert_non_null(strstr(out, "<other xmlns=\"urn:x\"><v>2</v></other>"));
	assert_non_null(strstr(out, "<on_reboot>destroy</on_reboot>"));
	assert_int_equal(domain_xml_parse(out, strlen(out), e, err, sizeof(err)), 0);
	assert_memory_equal(d, e, sizeof(*d));
	free(out);
	free(d);
	free(e);
}

/* Each parse says its own error: an empty text after a failed parse (libxml2 then reads
 * nothing and its global last error still holds the earlier one), two different bad texts,
 * and one thread's failures while another thread parses. */
static void check_empty(void)
{
	struct domain_xml_def d;
	char err[256];

	assert_int_equal(domain_xml_parse("", 0, &d, err, sizeof(err)), XML_ERROR);
	assert_non_null(strstr(err, "empty domain XML"));
	assert_int_equal(domain_xml_parse(" \n\t", 3, &d, err, sizeof(err)), XML_ERROR);
	assert_non_null(strstr(err, "empty domain XML"));
}

static void *bad_parses(void *arg)
{
	struct domain_xml_def *d = malloc(sizeof(*d));
	char err[256];
	long wrong = 0;

	(void)arg;
	for (int i = 0; i < 200 && d; i++)
		if (domain_xml_parse("<domain><unclosed>", 18, d, err, sizeof(err)) != XML_ERROR ||
		    strstr(err, "AttValue"))
			wrong++;
	free(d);
	return (void *)wrong;
}

static void test_error_is_this_parse(void **state)
{
	struct domain_xml_def d;
	char err[256];
	pthread_t th;
	void *wrong;

	(void)state;
	assert_int_equal(domain_xml_parse("<domain><name>x", 15, &d, err, sizeof(err)), XML_ERROR);
	assert_non_null(strstr(err, "not well-formed XML"));
	check_empty();
	assert_int_equal(domain_xml_parse("<domain a=>", 11, &d, err, sizeof(err)), XML_ERROR);
	assert_non_null(strstr(err, "AttValue"));
	assert_int_equal(domain_xml_parse("<a></b>", 7, &d, err, sizeof(err)), XML_ERROR);
	assert_null(strstr(err, "AttValue"));
	assert_non_null(strstr(err, "mismatch"));
	/* Another thread's errors never show in this one's answers, nor the reverse. */
	assert_int_equal(pthread_create(&th, NULL, bad_parses, NULL), 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(domain_xml_parse("<domain a=>", 11, &d, err, sizeof(err)),
				 XML_ERROR);
		assert_non_null(strstr(err, "AttValue"));
		check_empty();
		assert_int_equal(domain_xml_parse(full, strlen(full), &d, err, sizeof(err)), 0);
		assert_string_equal(err, "");
	}
	assert_int_equal(pthread_join(th, &wrong), 0);
	assert_int_equal((long)wrong, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_and_round_trip),
		cmocka_unit_test(test_defaults_and_units),
		cmocka_unit_test(test_uuid_forms),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_error_is_this_parse),
		cmocka_unit_test(test_meta_round_trip),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_interface_refusals),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
