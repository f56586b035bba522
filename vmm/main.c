/* main.c: lego-vmm command line: build one vNode from options, run it, report how it ended. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libfdt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/block/blk_backend.h"
#include "vmm/control/control_sock.h"
#include "vmm/devices/legacy/debug_exit.h"
#include "vmm/boot/elf_loader.h"
#include "vmm/boot/fdt_build.h"
#include "lib/fabric/fabric.h"
#include "vmm/devices/legacy/i8042.h"
#include "vmm/kvm/irqchip.h"
#include "vmm/boot/linux_guest.h"
#include "lib/log.h"
#include "vmm/migration/migrate.h"
#include "vmm/memory/pager.h"
#include "lib/parse.h"
#include "vmm/memory/remote_mem.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/devices/virtio/virtio_blk.h"
#include "vmm/kvm/vm.h"
#include "vmm/control/vmm_stats.h"
#include "lib/proto/stor_proto.h"
#include "vmm/arch/x86/x86_boot.h"

#define MAX_DISKS	      8
#define DEFAULT_MEM	      (256ULL << 20)
#define DEFAULT_REGION	      (1ULL << 30)
#define MIN_CACHE	      (1ULL << 20)
#define DEFAULT_TIMEOUT_MS    5000
#define DEFAULT_PAGER_THREADS 2
#define DEFAULT_SMON_CHANNELS 16
#define DEFAULT_SMON_TIMEOUT  30000
#define SMON_SCHEME	      "smon://"
#define INCOMING_WAIT_MS      60000

struct disk_opt {
	const char *path; /* a file, or smon://HOST:PORT/VOLUME */
	bool read_only;
	bool smon;
	char host[256], port[16];
	const char *vol;
};

struct options {
	const char *kernel;
	const char *initrd; /* Linux only */
	const char *append;
	const char *console;
	const char *stats;
	uint64_t mem;
	int cpus;
	int nr_disks;
	struct disk_opt disks[MAX_DISKS];
	/* remote memory: on when at least one --mmon is given */
	struct rm_config rm;
	uint64_t cache;
	int pager_threads;
	bool no_prefetch, keep_regions, attach_regions;
	const char *region_owners; /* --region-owners as given; rm.owners once parsed */
	int (*owners)[RM_MAX_COPIES];
	int replicas;
	const char *control;
	const char *incoming; /* --incoming HOST:PORT */
	char client_name[MP_NAME_LEN + 1];
	int smon_channels, smon_timeout_ms;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-vmm --kernel IMAGE [options]\n"
		"Run one vNode: a KVM virtual machine booting a freestanding 64-bit ELF guest, or\n"
		"an unmodified Linux kernel (on hosts with VT-x/AMD-V).\n"
		"\n"
		"  -k, --kernel IMAGE     the guest (required): lego's freestanding ELF guest, or "
		"a\n"
		"                         Linux bzImage or ELF vmlinux (told apart by content)\n"
		"      --initrd PATH      Linux: the initramfs (or initrd) the kernel unpacks\n"
		"  -m, --mem SIZE         guest RAM, e.g. 256M, 2G (%llu MiB..%llu GiB, multiple "
		"of "
		"2 MiB; default 256M)\n"
		"  -c, --cpus N           vCPUs, each a host thread (1..%d; default 1)\n"
		"  -a, --append CMDLINE   guest command line (/chosen/bootargs). Linux: after\n"
		"                         '%s'\n"
		"                         (a parameter given here replaces that one); the disks\n"
		"                         are in ACPI tables (with acpi=off: on the command line,\n"
		"                         virtio_mmio.device=4K@ADDR:IRQ each)\n"
		"  -d, --disk PATH[,ro]   virtio-blk disk backed by a file, or by a volume on a\n"
		"                         storage server: smon://HOST:PORT/VOLUME; repeat for "
		"more\n"
		"                         (max %d)\n"
		"      --smon-channels N  connections (requests in flight) per storage-server "
		"disk\n"
		"                         (1..%d; default %d)\n"
		"      --smon-timeout MS  keep retrying requests to an unreachable storage server\n"
		"                         this long before the guest sees an I/O error (default "
		"%d)\n"
		"      --console PATH     write the guest console to PATH instead of stdout\n"
		"\n"
		"Remote memory (guest RAM lives on lego-mmon memory servers):\n"
		"      --mmon HOST:PORT   a memory server; repeat to spread vRegions (max %d)\n"
		"      --region-size SIZE vRegion size (multiple of 2 MiB; default 1G)\n"
		"      --region-owners LIST\n"
		"                         the memory servers of each vRegion: comma-separated\n"
		"                         indexes into the --mmon list (0 = the first), one per\n"
		"                         vRegion, its replicas' after '+', e.g. 1,0+1,1+0\n"
		"                         (default: vRegion i on server i mod the number of\n"
		"                         servers, its replicas on the next ones)\n"
		"      --replicas N       copies of every vRegion, on as many servers (1..%d;\n"
		"                         default 1); a write-back is done when every copy has\n"
		"                         it, and a lost server's copies fail over to the others\n"
		"      --cache SIZE       ExCache: most guest RAM resident here (default: all of "
		"it;\n"
		"                         at least 1M)\n"
		"      --pager-threads N  fault-serving threads (1..%d; default %d)\n"
		"      --no-prefetch      fetch only the faulting page, even when sequential\n"
		"      --no-rma           never fetch pages with one-sided RMA reads (used where "
		"the\n"
		"                         provider has them natively, e.g. verbs; tcp uses "
		"messages)\n"
		"      --provider NAME    libfabric provider (default $LEGO_FABRIC_PROVIDER or "
		"tcp)\n"
		"      --mmon-timeout MS  a memory server silent this long is lost (default "
		"%d)\n"
		"      --vnode-id N       the vNode's id on the servers (default: random)\n"
		"      --keep-regions     leave the vRegions on the servers at exit\n"
		"      --attach-regions   the vRegions already hold this vNode's RAM (kept by an\n"
		"                         earlier run, or loaded by a tool): fetch every page\n"
		"                         from its server instead of assuming zeros\n"
		"      --control PATH     UNIX socket answering 'stats', 'flush', 'pause', "
		"'resume'\n"
		"                         and 'help' while running\n"
		"                         (@NAME: an abstract socket, no file)\n"
		"\n"
		"\n"
		"Live migration (the control socket's 'migrate HOST:PORT' sends a vNode away):\n"
		"      --incoming HOST:PORT\n"
		"                         be the destination of a migration: attach to the\n"
		"                         vNode's vRegions and disks (the same --mem, --cpus,\n"
		"                         --mmon, --region-size, --region-owners, --vnode-id and\n"
		"                         --disk as the source; --kernel and --initrd are not\n"
		"                         loaded: --kernel tells whether a Linux guest, with\n"
		"                         KVM's interrupt controllers, arrives), listen\n"
		"                         on HOST:PORT (port 0: any; the control socket's\n"
		"                         'migration' tells which) for the source's state, then\n"
		"                         run the vNode from where it was\n"
		"\n"
		"      --stats PATH       write run statistics as JSON to PATH at exit\n"
		"  -v, --verbose          debug log lines\n"
		"  -q, --quiet            warnings and errors only\n"
		"  -h, --help             this text\n"
		"  -V, --version          version\n"
		"\n"
		"Exit status: the value the guest writes to port 0x%x (0..255); 0 when a Linux\n"
		"guest resets the machine (reboot, or power-off and panics, which reboot); %d for\n"
		"a bad command line; %d when the VMM cannot run the guest or the guest crashes;\n"
		"%d when the vNode migrated away; %d when an --incoming vNode never ran here.\n",
		(unsigned long long)(LEGO_MEM_MIN >> 20), (unsigned long long)(LEGO_MEM_MAX >> 30),
		LEGO_MAX_VCPUS, LINUX_DEFAULT_CMDLINE, MAX_DISKS, BLK_SMON_MAX_CHANNELS,
		DEFAULT_SMON_CHANNELS, DEFAULT_SMON_TIMEOUT, RM_MAX_SERVERS, RM_MAX_COPIES,
		PAGER_MAX_THREADS, DEFAULT_PAGER_THREADS, DEFAULT_TIMEOUT_MS, LEGO_PORT_DEBUG_EXIT,
		VMM_EXIT_USAGE, VMM_EXIT_FAILURE, VMM_EXIT_MIGRATED, VMM_EXIT_INCOMING_ABORTED);
}

__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lego-vmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'lego-vmm --help'.\n");
	return VMM_EXIT_USAGE;
}

/* smon://HOST:PORT/VOLUME into d (anything else is a file path): 0, or -1 if malformed. */
static int parse_smon_disk(char *path, struct disk_opt *d)
{
	char *slash;

	d->smon = !strncmp(path, SMON_SCHEME, strlen(SMON_SCHEME));
	if (!d->smon)
		return 0;
	slash = strchr(path + strlen(SMON_SCHEME), '/');
	if (!slash || !sp_vol_name_ok(slash + 1))
		return -1;
	*slash = '\0';
	if (parse_hostport(path + strlen(SMON_SCHEME), 1, d->host, sizeof(d->host), d->port,
			   sizeof(d->port))) {
		*slash = '/';
		return -1;
	}
	*slash = '/';
	d->vol = slash + 1;
	return 0;
}

/* --region-owners: the servers of each vRegion's copies ("0+1,1+2": primary first),
 * checked against --mem, --region-size and the --mmon count (so only after every option
 * is read). Returns -1, or an exit status. */
static int parse_region_owners(struct options *o)
{
	const char *text = o->region_owners, *p = text;
	uint64_t regions = (o->mem + o->rm.region_size - 1) / o->rm.region_size, n = 0, v;

	if (!o->rm.nr_servers)
		return bad_usage("--region-owners needs --mmon");
	if (o->replicas)
		return bad_usage("--replicas and --region-owners exclude each other: the owners "
				 "name every copy");
	o->owners = calloc(regions, sizeof(*o->owners));
	if (!o->owners)
		return bad_usage("out of memory");
	for (;;) {
		size_t len = strcspn(p, ",");
		char item[64], *q = item;
		int k = 0;

		if (!len || len >= sizeof(item))
			return bad_usage(
				"--region-owners '%s' must be comma-separated memory-server "
				"indexes, each with its copies' servers after '+', e.g. 0,1+0,1",
				text);
		memcpy(item, p, len);
		item[len] = '\0';
		for (;;) {
			char *plus = strchr(q, '+');

			if (plus)
				*plus = '\0';
			if (parse_uint(q, 0, UINT32_MAX, &v))
				return bad_usage(
					"--region-owners '%s': '%s' is not a memory-server "
					"index",
					text, q);
			if (v >= (uint64_t)o->rm.nr_servers)
				return bad_usage(
					"--region-owners '%s': server index %llu is out of "
					"range: %d --mmon server(s) are indexed 0..%d",
					text, (unsigned long long)v, o->rm.nr_servers,
					o->rm.nr_servers - 1);
			if (k == RM_MAX_COPIES)
				return bad_usage("--region-owners '%s': more than %d copies of a "
						 "vRegion",
						 text, RM_MAX_COPIES);
			if (n < regions) {
				for (int j = 0; j < k; j++)
					if (o->owners[n][j] == (int)v)
						return bad_usage("--region-owners '%s': two copies "
								 "of vRegion %llu on server %llu",
								 text, (unsigned long long)n,
								 (unsigned long long)v);
				o->owners[n][k] = (int)v;
			}
			k++;
			if (!plus)
				break;
			q = plus + 1;
		}
		if (n < regions)
			for (int j = k; j < RM_MAX_COPIES; j++)
				o->owners[n][j] = -1;
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (n != regions)
		return bad_usage(
			"--region-owners '%s' names %llu vRegion(s), but --mem %llu MiB in "
			"vRegions of %llu MiB makes %llu",
			text, (unsigned long long)n, (unsigned long long)(o->mem >> 20),
			(unsigned long long)(o->rm.region_size >> 20), (unsigned long long)regions);
	o->rm.owners = (const int(*)[RM_MAX_COPIES])o->owners;
	return -1;
}

/* Returns -1 to continue, or an exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"initrd", required_argument, NULL, 'F'},
		{"mem", required_argument, NULL, 'm'},
		{"cpus", required_argument, NULL, 'c'},
		{"append", required_argument, NULL, 'a'},
		{"disk", required_argument, NULL, 'd'},
		{"console", required_argument, NULL, 'C'},
		{"stats", required_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"mmon", required_argument, NULL, 'M'},
		{"region-size", required_argument, NULL, 'R'},
		{"region-owners", required_argument, NULL, 'G'},
		{"replicas", required_argument, NULL, 'Y'},
		{"cache", required_argument, NULL, 'X'},
		{"pager-threads", required_argument, NULL, 'T'},
		{"no-prefetch", no_argument, NULL, 'N'},
		{"no-rma", no_argument, NULL, 'A'},
		{"provider", required_argument, NULL, 'P'},
		{"mmon-timeout", required_argument, NULL, 'O'},
		{"vnode-id", required_argument, NULL, 'I'},
		{"keep-regions", no_argument, NULL, 'K'},
		{"control", required_argument, NULL, 'Z'},
		{"smon-channels", required_argument, NULL, 'H'},
		{"smon-timeout", required_argument, NULL, 'W'},
		{"incoming", required_argument, NULL, 'J'},
		{"attach-regions", no_argument, NULL, 'E'},
		{NULL, 0, NULL, 0},
	};
	char host[256], port[16];
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = DEFAULT_MEM;
	o->cpus = 1;
	o->append = "";
	o->rm.region_size = DEFAULT_REGION;
	o->rm.timeout_ms = DEFAULT_TIMEOUT_MS;
	o->rm.use_rma = true;
	o->rm.provider = fab_default_provider();
	o->pager_threads = DEFAULT_PAGER_THREADS;
	o->smon_channels = DEFAULT_SMON_CHANNELS;
	o->smon_timeout_ms = DEFAULT_SMON_TIMEOUT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:m:c:a:d:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'F':
			o->initrd = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &v))
				return bad_usage("--mem '%s' is not a size (e.g. 256M, 2G)",
						 optarg);
			if (v < LEGO_MEM_MIN || v > LEGO_MEM_MAX || v % (2ULL << 20)) {
				fprintf(stderr,
					"lego-vmm: memory size %s is out of range: guest RAM must "
					"be "
					"%llu MiB..%llu GiB and a multiple of 2 MiB\n",
					optarg, (unsigned long long)(LEGO_MEM_MIN >> 20),
					(unsigned long long)(LEGO_MEM_MAX >> 30));
				return VMM_EXIT_USAGE;
			}
			o->mem = v;
			break;
		case 'c':
			if (parse_uint(optarg, 1, LEGO_MAX_VCPUS, &v)) {
				fprintf(stderr,
					"lego-vmm: --cpus '%s' must be a number from 1 to %d\n",
					optarg, LEGO_MAX_VCPUS);
				return VMM_EXIT_USAGE;
			}
			o->cpus = (int)v;
			break;
		case 'a':
			o->append = optarg;
			break;
		case 'd': {
			char *comma = strchr(optarg, ',');

			if (o->nr_disks == MAX_DISKS)
				return bad_usage("too many --disk options (at most 8): '%s'",
						 optarg);
			o->disks[o->nr_disks].read_only = false;
			if (comma) {
				if (strcmp(comma, ",ro"))
					return bad_usage("--disk '%s': the only option is ',ro'",
							 optarg);
				*comma = '\0';
				o->disks[o->nr_disks].read_only = true;
			}
			if (!*optarg)
				return bad_usage("--disk needs a path");
			if (parse_smon_disk(optarg, &o->disks[o->nr_disks]))
				return bad_usage(
					"--disk '%s' must be smon://HOST:PORT/VOLUME with a "
					"volume name of 1-64 of [A-Za-z0-9._-]",
					optarg);
			o->disks[o->nr_disks++].path = optarg;
			break;
		}
		case 'H':
			if (parse_uint(optarg, 1, BLK_SMON_MAX_CHANNELS, &v))
				return bad_usage(
					"--smon-channels '%s' must be a number from 1 to %d",
					optarg, BLK_SMON_MAX_CHANNELS);
			o->smon_channels = (int)v;
			break;
		case 'W':
			if (parse_uint(optarg, 1, 3600000, &v))
				return bad_usage("--smon-timeout '%s' must be 1..3600000 ms",
						 optarg);
			o->smon_timeout_ms = (int)v;
			break;
		case 'C':
			o->console = optarg;
			break;
		case 'S':
			o->stats = optarg;
			break;
		case 'M':
			if (o->rm.nr_servers == RM_MAX_SERVERS)
				return bad_usage("too many --mmon options (at most %d)",
						 RM_MAX_SERVERS);
			if (rm_parse_server(optarg, host, sizeof(host), port, sizeof(port)))
				return bad_usage("--mmon '%s' is not HOST:PORT", optarg);
			o->rm.servers[o->rm.nr_servers++] = optarg;
			break;
		case 'R':
			if (parse_size(optarg, &v) || v == 0 || v % (2ULL << 20) ||
			    v > MP_REGION_MAX)
				return bad_usage(
					"--region-size '%s' must be a multiple of 2 MiB up "
					"to 1T",
					optarg);
			o->rm.region_size = v;
			break;
		case 'G':
			o->region_owners = optarg;
			break;
		case 'Y':
			if (parse_uint(optarg, 1, RM_MAX_COPIES, &v))
				return bad_usage("--replicas '%s' must be a number from 1 to %d",
						 optarg, RM_MAX_COPIES);
			o->replicas = (int)v;
			break;
		case 'X':
			if (parse_size(optarg, &v) || v < MIN_CACHE)
				return bad_usage("--cache '%s' is not a size of at least 1M",
						 optarg);
			o->cache = v & ~4095ULL;
			break;
		case 'T':
			if (parse_uint(optarg, 1, PAGER_MAX_THREADS, &v))
				return bad_usage("--pager-threads '%s' must be 1..%d", optarg,
						 PAGER_MAX_THREADS);
			o->pager_threads = (int)v;
			break;
		case 'N':
			o->no_prefetch = true;
			break;
		case 'A':
			o->rm.use_rma = false;
			break;
		case 'P':
			o->rm.provider = optarg;
			break;
		case 'O':
			if (parse_uint(optarg, 100, 3600000, &v))
				return bad_usage("--mmon-timeout '%s' must be 100..3600000 ms",
						 optarg);
			o->rm.timeout_ms = (int)v;
			break;
		case 'I':
			if (parse_uint(optarg, 1, UINT64_MAX, &v))
				return bad_usage("--vnode-id '%s' must be a number from 1", optarg);
			o->rm.vnode = v;
			break;
		case 'K':
			o->keep_regions = true;
			break;
		case 'Z':
			o->control = optarg;
			break;
		case 'E':
			o->attach_regions = true;
			break;
		case 'J':
			if (parse_hostport(optarg, 0, host, sizeof(host), port, sizeof(port)))
				return bad_usage("--incoming '%s' is not HOST:PORT", optarg);
			o->incoming = optarg;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_WARN);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("lego-vmm (lego) guest ABI %d\n", LEGO_GUEST_ABI_VERSION);
			return 0;
		case ':':
			return bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (!o->kernel && !o->incoming)
		return bad_usage("no guest image given (--kernel IMAGE)");
	if (o->initrd && !o->kernel)
		return bad_usage("--initrd needs --kernel (the Linux kernel it belongs to)");
	if (o->incoming && !o->rm.nr_servers)
		return bad_usage("--incoming needs --mmon: only vNodes whose RAM is on memory "
				 "servers migrate");
	if (!o->rm.nr_servers && (o->cache || o->keep_regions || o->rm.vnode || o->attach_regions))
		return bad_usage("--cache, --keep-regions, --attach-regions and --vnode-id need "
				 "--mmon");
	if (o->replicas && !o->rm.nr_servers)
		return bad_usage("--replicas needs --mmon");
	if (o->replicas > o->rm.nr_servers)
		return bad_usage("--replicas %d needs as many --mmon servers (%d given)",
				 o->replicas, o->rm.nr_servers);
	o->rm.replicas = o->replicas;
	if (o->region_owners && (c = parse_region_owners(o)) >= 0)
		return c;
	if (!o->cache || o->cache > o->mem)
		o->cache = o->mem;
	while (!o->rm.vnode)
		if (getrandom(&o->rm.vnode, sizeof(o->rm.vnode), 0) != sizeof(o->rm.vnode))
			o->rm.vnode = (uint64_t)getpid() << 16 | (uint64_t)time(NULL);
	snprintf(o->client_name, sizeof(o->client_name), "lego-vmm-%d", (int)getpid());
	o->rm.client_name = o->client_name;
	return -1;
}

/* Read a whole file (what: "guest image", "initrd"); it cannot be larger than guest RAM. */
static void *read_image(const char *what, const char *path, uint64_t mem, size_t *len)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("cannot open %s '%s': %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		log_error("%s '%s' is not a regular file", what, path);
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > mem) {
		log_error("%s '%s' (%llu bytes) is larger than guest RAM (%llu MiB)", what, path,
			  (unsigned long long)st.st_size, (unsigned long long)(mem >> 20));
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	*len = 0;
	while (buf && *len < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)buf + *len, (size_t)st.st_size - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("cannot read %s '%s': %s", what, path,
				  n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			buf = NULL;
			break;
		}
		*len += (size_t)n;
	}
	close(fd);
	return buf;
}

/* The freestanding guest: its ELF segments, and the boot tables of lego_guest_abi.h. */
static int load_lego_elf(struct vm *vm, const char *path, const void *image, size_t len,
			 uint64_t *entry)
{
	struct elf_image_info info;
	char err[256];
	enum elf_status st;

	st = elf_load(&vm->mem, image, len, &info, err, sizeof(err));
	if (st != ELF_OK) {
		log_error("guest image '%s' %s: %s", path,
			  st == ELF_ERR_TOO_LARGE ? "is larger than guest RAM" : "is invalid", err);
		return -1;
	}
	log_debug("loaded '%s' at [0x%llx, 0x%llx), entry 0x%llx", path,
		  (unsigned long long)info.lowest, (unsigned long long)info.highest,
		  (unsigned long long)info.entry);
	*entry = info.entry;
	return x86_setup_boot_tables(&vm->mem);
}

/* What --kernel is; a Linux kernel needs hardware virtualization, which is checked first. */
static int read_guest(const struct options *o, uint64_t mem, void **image, size_t *len,
		      enum boot_kind *kind)
{
	const char *problem;

	*image = read_image("guest image", o->kernel, mem, len);
	if (!*image)
		return -1;
	/* Anything but a Linux kernel goes to the ELF loader, which says what is wrong with it. */
	*kind = boot_image_kind(*image, *len);
	if (!boot_kind_is_linux(*kind)) {
		if (o->initrd) {
			log_error("--initrd is for a Linux kernel; '%s' is %s", o->kernel,
				  *kind == BOOT_KIND_LEGO_ELF ? "a freestanding ELF guest"
							      : "not one");
			return -1;
		}
		return 0;
	}
	problem = linux_guest_host_problem();
	if (problem) {
		log_error("cannot boot '%s' (a %s): %s", o->kernel, boot_kind_name(*kind), problem);
		return -1;
	}
	return 0;
}

static int load_guest(struct vm *vm, const struct options *o, const void *image, size_t len,
		      enum boot_kind kind, struct linux_guest *lg, uint64_t *entry)
{
	void *initrd = NULL;
	size_t initrd_len = 0;

	if (!boot_kind_is_linux(kind))
		return load_lego_elf(vm, o->kernel, image, len, entry);
	if (o->initrd && !(initrd = read_image("initrd", o->initrd, vm->mem.size, &initrd_len)))
		return -1;
	if (linux_guest_load(vm, lg, o->kernel, image, len, initrd, initrd_len) || i8042_init(vm))
		return -1;
	*entry = lg->k.entry;
	return 0;
}

struct devices {
	struct serial serial;
	int console_fd;
	int nr_disks;
	struct blk_backend *backends[MAX_DISKS];
	struct virtio_mmio_dev *blk[MAX_DISKS];
};

static int create_devices(struct vm *vm, const struct options *o, struct devices *d,
			  struct fdt_params *fp)
{
	d->console_fd = STDOUT_FILENO;
	if (o->console) {
		d->console_fd = open(o->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (d->console_fd < 0) {
			log_error("cannot open console file '%s': %s", o->console, strerror(errno));
			return -1;
		}
	}
	if (serial_init(&d->serial, &vm->pio, LEGO_PORT_CONSOLE, d->console_fd) ||
	    debug_exit_init(vm)) {
		log_error("cannot register the console and debug-exit ports");
		return -1;
	}
	fp->virtio_size = LEGO_MMIO_STRIDE;
	for (int i = 0; i < o->nr_disks; i++) {
		uint64_t base = LEGO_MMIO_BASE + (uint64_t)i * LEGO_MMIO_STRIDE;

		const struct disk_opt *dk = &o->disks[i];

		if (dk->smon ? blk_smon_open(o->rm.provider, dk->host, dk->port, dk->vol,
					     dk->read_only, o->smon_channels, o->smon_timeout_ms,
					     &d->backends[i])
			     : blk_file_open(dk->path, dk->read_only, &d->backends[i]))
			return -1;
		d->nr_disks = i + 1;
		d->blk[i] = virtio_blk_create(&vm->mmio, &vm->mem, base, d->backends[i]);
		if (!d->blk[i]) {
			log_error("cannot create virtio-blk device for '%s'", o->disks[i].path);
			return -1;
		}
		fp->virtio_base[fp->nr_virtio++] = base;
		log_info("virtio-blk %d at 0x%llx: '%s'%s", i, (unsigned long long)base,
			 o->disks[i].path, o->disks[i].read_only ? " (read-only)" : "");
	}
	return 0;
}

static void destroy_devices(struct devices *d)
{
	for (int i = 0; i < d->nr_disks; i++) {
		if (d->blk[i])
			virtio_blk_destroy(d->blk[i]);
		if (d->backends[i])
			blk_backend_close(d->backends[i]);
	}
	if (d->console_fd > STDOUT_FILENO)
		close(d->console_fd);
	serial_destroy(&d->serial);
}

/* SIGINT/SIGTERM end the run through a thread, since vm_stop takes a lock. */
static void *signal_thread(void *arg)
{
	struct vm *vm = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig) == 0) {
		log_warn("received signal %d: stopping the guest", sig);
		vm_stop(vm, 128 + sig);
	}
	return NULL;
}

/* Guest RAM on memory servers: connect, open the vRegions, start the pager. */
static int start_remote_memory(const struct options *o, struct vm *vm, struct remote_mem *rm,
			       struct pager **pg)
{
	struct pager_config pc = {.cache_bytes = o->cache,
				  .threads = o->pager_threads,
				  .prefetch = !o->no_prefetch,
				  .attached = o->attach_regions};

	if (remote_mem_open(rm, &o->rm, o->mem, o->pager_threads + 1)) {
		log_error("remote memory: %s", rm->error);
		return -1;
	}
	log_info("remote memory: vNode %llu, %d vRegion(s) of up to %llu MiB on %d server(s)",
		 (unsigned long long)rm->vnode, rm->nr_regions,
		 (unsigned long long)(rm->region_size >> 20), rm->nr_servers);
	if (o->region_owners)
		log_info("remote memory: vRegion owners (--region-owners): %.200s%s",
			 o->region_owners, strlen(o->region_owners) > 200 ? "..." : "");
	return pager_start(pg, vm, rm, &pc);
}

/* What a migration needs to know of the vNode; commands act once ready is set. */
static void describe_for_migration(const struct options *o, struct vm *vm, struct pager *pg,
				   struct remote_mem *rm, struct devices *dev, struct migration *m)
{
	pthread_mutex_lock(&m->lock);
	m->vm = vm;
	m->pg = pg;
	m->rm = rm;
	m->serial = &dev->serial;
	m->console_fd = dev->console_fd;
	m->console_path = o->console;
	m->nr_disks = dev->nr_disks;
	for (int i = 0; i < dev->nr_disks; i++) {
		m->disks[i] = dev->blk[i];
		m->local_disks |= !o->disks[i].smon;
	}
	m->vnode = o->rm.vnode;
	m->mem_bytes = o->mem;
	m->region_size = o->rm.region_size;
	m->vcpus = o->cpus;
	m->ready = true;
	pthread_mutex_unlock(&m->lock);
}

static int run_vnode(const struct options *o)
{
	struct vm vm;
	struct devices dev;
	struct fdt_params fp;
	struct vmm_stats stats;
	struct remote_mem rm;
	struct migration mig;
	struct pager *pg = NULL;
	struct control_sock *cs = NULL;
	struct linux_guest lg;
	bool remote = o->rm.nr_servers > 0, free_regions = !o->keep_regions;
	char pager_json[1536] = "";
	uint64_t entry = 0;
	void *fdt, *image = NULL;
	size_t image_len = 0;
	enum boot_kind kind = BOOT_KIND_UNKNOWN;
	int status = VMM_EXIT_FAILURE, err;
	pthread_t sig_thread;
	sigset_t set;

	memset(&dev, 0, sizeof(dev));
	memset(&fp, 0, sizeof(fp));
	memset(&rm, 0, sizeof(rm));
	memset(&lg, 0, sizeof(lg));
	migrate_init(&mig);
	/* Before any thread exists, so that only the signal thread takes these. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	vmm_stats_start(&stats);
	if (vm_init(&vm, o->mem)) {
		migrate_destroy(&mig);
		return VMM_EXIT_FAILURE;
	}
	/* An incoming vNode's RAM belongs to the source until it runs here. */
	if (o->incoming)
		free_regions = false;
	/* An incoming vNode's --kernel is only read to know what kind of guest arrives. */
	if (o->kernel && read_guest(o, o->mem, &image, &image_len, &kind))
		goto out;
	/* The pager must serve guest RAM before anything (the loader first) touches it. */
	if (remote && start_remote_memory(o, &vm, &rm, &pg))
		goto out;
	if (o->control) {
		struct control_target ct = {.vnode = o->rm.vnode,
					    .vcpus = o->cpus,
					    .mem_bytes = o->mem,
					    .vm = &vm,
					    .pg = pg,
					    .rm = remote ? &rm : NULL,
					    .console_bytes = &dev.serial.bytes_out,
					    .mig = &mig};

		if (control_sock_start(&cs, o->control, &ct))
			goto out;
	}
	/* Everything that can be checked without KVM comes first. An incoming vNode's RAM
	 * already holds its guest: nothing is loaded. */
	if (!o->incoming && load_guest(&vm, o, image, image_len, kind, &lg, &entry))
		goto out;
	if (o->incoming && boot_kind_is_linux(kind) && linux_guest_incoming(&vm))
		goto out;
	free(image);
	image = NULL;
	if (create_devices(&vm, o, &dev, &fp))
		goto out;
	if (vm.linux_guest && !o->incoming &&
	    linux_guest_setup(&vm, &lg, o->append, fp.virtio_base, fp.nr_virtio, fp.virtio_size,
			      o->cpus))
		goto out;
	if (vm_create_kvm(&vm) || (vm.linux_guest && irqchip_create(&vm)) ||
	    vm_create_vcpus(&vm, o->cpus, entry))
		goto out;
	if (vm.linux_guest && linux_guest_wire(&vm, &lg, &dev.serial, dev.blk, dev.nr_disks))
		goto out;
	if (!o->incoming && !vm.linux_guest) {
		fp.mem = &vm.mem;
		fp.nr_vcpus = o->cpus;
		fp.bootargs = o->append;
		fp.tsc_khz = vm.tsc_khz;
		fdt = guest_mem_ptr(&vm.mem, LEGO_FDT_GPA, LEGO_FDT_MAX);
		err = fdt_build(fdt, LEGO_FDT_MAX, &fp);
		if (err) {
			log_error("cannot build the device tree: %s (command line %zu bytes)",
				  fdt_strerror(err), strlen(o->append));
			goto out;
		}
	}

	pthread_create(&sig_thread, NULL, signal_thread, &vm);
	pthread_detach(sig_thread);
	describe_for_migration(o, &vm, pg, &rm, &dev, &mig);

	if (o->incoming) {
		if (migrate_in_run(&mig, o->incoming, INCOMING_WAIT_MS)) {
			status = VMM_EXIT_INCOMING_ABORTED;
			goto out;
		}
		/* A vNode its user had paused stays paused here. */
		if (mig.user_paused)
			atomic_store(&vm.paused, true);
		migrate_in_running(&mig);
		free_regions = !o->keep_regions;
	}
	log_info("vNode: %d vCPU(s), %llu MiB RAM%s, %d disk(s), %s '%s'", o->cpus,
		 (unsigned long long)(o->mem >> 20), remote ? " (remote)" : "", o->nr_disks,
		 o->incoming ? "migrated in on" : boot_kind_name(kind),
		 o->incoming ? o->incoming : o->kernel);
	status = vm_run(&vm);
	if (status == VMM_EXIT_MIGRATED)
		log_info("vNode migrated away: it runs on the destination now");
	else
		log_info("vNode ended with status %d", status);
	if (pg) {
		struct pager_stats pst;

		pager_get_stats(pg, &pst);
		pager_log_stats(&pst);
		pager_stats_json(&pst, pager_json, sizeof(pager_json));
	}
	if (o->stats)
		vmm_stats_write(&stats, &vm, dev.serial.bytes_out, pg ? pager_json : NULL,
				o->stats);
out:
	free(image);
	control_sock_stop(cs);
	/* Once the destination may run the vNode, its vRegions are no longer ours. */
	if (migrate_destroy(&mig))
		free_regions = false;
	linux_guest_destroy(&lg);
	destroy_devices(&dev);
	pager_stop(pg);
	vm_destroy(&vm);
	if (remote && rm.regions)
		remote_mem_close(&rm, free_regions);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	int rc;

	log_init("lego-vmm");
	rc = parse_options(argc, argv, &o);
	if (rc < 0)
		rc = run_vnode(&o);
	free(o.owners);
	return rc;
}
