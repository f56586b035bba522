/* main.c: lego-vmm: read the command line, build one vNode from it, run it, report how it
 * ended. Each subsystem owns its options (vmm/options.h) and its setup; this is the wiring. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/proto/mig_status.h"
#include "vmm/block/blk_disks.h"
#include "vmm/boot/boot_guest.h"
#include "vmm/control/control_sock.h"
#include "vmm/control/vmm_options.h"
#include "vmm/control/vmm_stats.h"
#include "vmm/devices/legacy/console.h"
#include "vmm/kvm/irqchip.h"
#include "vmm/kvm/vm.h"
#include "vmm/memory/pager.h"
#include "vmm/memory/remote_mem.h"
#include "vmm/migration/migrate.h"
#include "lib/tls/tls_pki.h"
#include "vmm/net/net_nics.h"

/* A migration carries every disk and NIC; a Linux guest has an interrupt for each. */
_Static_assert(BLK_CONFIG_MAX_DISKS <= MIGRATE_MAX_DISKS, "a disk a migration cannot carry");
_Static_assert(NET_CONFIG_MAX_NICS <= MIGRATE_MAX_NICS, "a NIC a migration cannot carry");
_Static_assert(BLK_CONFIG_MAX_DISKS + NET_CONFIG_MAX_NICS <= LINUX_GUEST_MAX_VIRTIO,
	       "a virtio device without an interrupt");

/* One vNode and everything it is made of. */
struct vnode {
	const struct vmm_options *c;
	struct vm vm;
	struct console con;
	struct blk_disks disks;
	struct net_nics nics;
	struct fdt_build_params fp;
	struct vmm_stats stats;
	struct remote_mem rm;
	struct migrate mig;
	struct pager *pg;
	struct control_sock *cs;
	struct linux_guest lg;
	struct virtio_mmio_dev *devs[FDT_MAX_VIRTIO]; /* disks, then NICs */
	bool remote, free_regions;
	uint64_t entry;
	void *image;
	size_t image_len;
	enum linux_loader_kind kind;
};

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

/* Before any thread exists, so that only the signal thread takes these. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int start_control(struct vnode *v)
{
	const struct vmm_options *c = v->c;
	struct control_sock_target ct = {.vnode = c->mem.rm.vnode,
					 .vcpus = c->boot.cpus,
					 .mem_bytes = c->boot.mem,
					 .vm = &v->vm,
					 .pg = v->pg,
					 .rm = v->remote ? &v->rm : NULL,
					 .serial = &v->con.serial,
					 .mig = &v->mig,
					 .holder = c->mem.rm.holder ? c->mem.rm.holder
								    : c->blk.holder,
					 .nics = &v->nics};

	return c->control.socket ? control_sock_start(&v->cs, c->control.socket, &ct) : 0;
}

/* The devices: the console, then the disks and the NICs after them, whose windows go into
 * the boot tables (in this order, so that a guest's devices keep their order). */
static int create_devices(struct vnode *v)
{
	const struct vmm_options *c = v->c;

	if (console_open(&v->con, &v->vm, &c->console) ||
	    blk_disks_create(&v->disks, &c->blk, c->mem.rm.provider, &v->vm) ||
	    net_nics_create(&v->nics, &c->net, &v->vm,
			    LEGO_MMIO_BASE + (uint64_t)v->disks.nr * LEGO_MMIO_STRIDE,
			    c->migrate.incoming != NULL))
		return -1;
	v->fp.virtio_size = LEGO_MMIO_STRIDE;
	for (int i = 0; i < v->disks.nr; i++) {
		v->fp.virtio_base[v->fp.nr_virtio] = v->disks.base[i];
		v->devs[v->fp.nr_virtio++] = v->disks.devs[i];
	}
	for (int i = 0; i < v->nics.nr; i++) {
		v->fp.virtio_base[v->fp.nr_virtio] = v->nics.nic[i].base;
		v->devs[v->fp.nr_virtio++] = v->nics.nic[i].dev;
	}
	return 0;
}

/* Everything up to the vCPUs, in the order it can fail: what needs no KVM comes first. */
static int build_vnode(struct vnode *v)
{
	const struct vmm_options *c = v->c;
	const char *incoming = c->migrate.incoming;

	/* An incoming vNode's --kernel is only read to know what kind of guest arrives. */
	if (c->boot.kernel &&
	    boot_guest_read(&c->boot, c->boot.mem, &v->image, &v->image_len, &v->kind))
		return -1;
	/* The pager must serve guest RAM before anything (the loader first) touches it. */
	if (v->remote &&
	    mem_config_start(&c->mem, c->boot.mem, v->nics.nr > 0, &v->vm, &v->rm, &v->pg))
		return -1;
	if (start_control(v))
		return -1;
	/* An incoming vNode's RAM already holds its guest: nothing is loaded. */
	if (!incoming &&
	    boot_guest_load(&v->vm, &c->boot, v->image, v->image_len, v->kind, &v->lg, &v->entry))
		return -1;
	if (incoming && linux_loader_kind_is_linux(v->kind) && linux_guest_incoming(&v->vm))
		return -1;
	free(v->image);
	v->image = NULL;
	if (create_devices(v))
		return -1;
	if (v->vm.linux_guest && !incoming &&
	    linux_guest_setup(&v->vm, &v->lg, c->boot.append, v->fp.virtio_base, v->fp.nr_virtio,
			      v->fp.virtio_size, c->boot.cpus))
		return -1;
	if (vm_create_kvm(&v->vm) || (v->vm.linux_guest && irqchip_create(&v->vm)) ||
	    vcpu_create_all(&v->vm, c->boot.cpus, v->entry))
		return -1;
	if (v->vm.linux_guest &&
	    linux_guest_wire(&v->vm, &v->lg, &v->con.serial, v->devs, v->fp.nr_virtio))
		return -1;
	if (!incoming && !v->vm.linux_guest)
		return boot_guest_fdt(&v->vm, &c->boot, &v->fp);
	return 0;
}

/* What a migration needs to know of the vNode; commands act once ready is set. */
static void describe_for_migration(struct vnode *v)
{
	const struct vmm_options *c = v->c;
	struct migrate *m = &v->mig;

	pthread_mutex_lock(&m->lock);
	m->vm = &v->vm;
	m->pg = v->pg;
	m->rm = &v->rm;
	m->serial = &v->con.serial;
	m->console_fd = v->con.fd;
	m->console_path = c->console.path;
	m->nr_disks = v->disks.nr;
	for (int i = 0; i < v->disks.nr; i++) {
		m->disks[i] = v->disks.devs[i];
		m->local_disks |= !c->blk.disks[i].smon;
	}
	m->nics = &v->nics;
	m->vnode = c->mem.rm.vnode;
	m->mem_bytes = c->boot.mem;
	m->region_size = c->mem.rm.region_size;
	m->vcpus = c->boot.cpus;
	m->pki = c->migrate.pki;
	m->insecure = c->migrate.insecure;
	m->ready = true;
	pthread_mutex_unlock(&m->lock);
}

/* The pager's figures in the log and, with --stats, the run's in a file. */
static void report(struct vnode *v)
{
	struct pager_stats pst;

	if (v->pg) {
		pager_stats_get(v->pg, &pst);
		pager_stats_log(&pst);
	}
	if (v->c->control.stats)
		vmm_stats_write(&v->stats, &v->vm, v->con.serial.bytes_out, v->pg ? &pst : NULL,
				v->c->control.stats);
}

/* Run the vCPUs (an incoming vNode's once its state has arrived) until the vNode ends, and
 * report: its exit status. */
static int run_vnode(struct vnode *v)
{
	const struct vmm_options *c = v->c;
	pthread_t sig_thread;
	int status;

	pthread_create(&sig_thread, NULL, signal_thread, &v->vm);
	pthread_detach(sig_thread);
	describe_for_migration(v);
	if (c->migrate.insecure)
		tls_pki_warn_insecure("lego-vmm", "its live-migration stream");
	if (c->migrate.incoming) {
		if (migrate_in_run(&v->mig, c->migrate.incoming, MIGRATE_CONFIG_INCOMING_WAIT_MS))
			return MIG_STATUS_EXIT_INCOMING_ABORTED;
		/* A vNode its user had paused stays paused here. */
		if (v->mig.user_paused)
			atomic_store(&v->vm.paused, true);
		migrate_in_running(&v->mig);
		v->free_regions = !c->mem.keep_regions;
	}
	log_info("vNode: %d vCPU(s), %llu MiB RAM%s, %d disk(s), %d NIC(s), %s '%s'", c->boot.cpus,
		 (unsigned long long)(c->boot.mem >> 20), v->remote ? " (remote)" : "",
		 c->blk.nr_disks, c->net.nr_nics,
		 c->migrate.incoming ? "migrated in on" : linux_loader_kind_name(v->kind),
		 c->migrate.incoming ? c->migrate.incoming : c->boot.kernel);
	status = vcpu_run_all(&v->vm);
	if (status == MIG_STATUS_EXIT_MIGRATED)
		log_info("vNode migrated away: it runs on the destination now");
	else
		log_info("vNode ended with status %d", status);
	report(v);
	return status;
}

static void teardown(struct vnode *v)
{
	free(v->image);
	control_sock_stop(v->cs);
	/* Once the destination may run the vNode, its vRegions are no longer ours. */
	if (migrate_destroy(&v->mig))
		v->free_regions = false;
	linux_guest_destroy(&v->lg);
	/* vhost-net's worker may be in guest RAM: the NICs stop before the pager. */
	net_nics_destroy(&v->nics);
	blk_disks_destroy(&v->disks);
	console_close(&v->con);
	pager_stop(v->pg);
	vm_destroy(&v->vm);
	if (v->remote && v->rm.regions)
		remote_mem_close(&v->rm, v->free_regions);
}

static int vnode_main(const struct vmm_options *c)
{
	struct vnode *v = calloc(1, sizeof(*v));
	int status = VMM_EXIT_FAILURE;

	if (!v) {
		log_error("out of memory");
		return VMM_EXIT_FAILURE;
	}
	v->c = c;
	v->remote = c->mem.rm.nr_servers > 0;
	/* An incoming vNode's RAM belongs to the source until it runs here. */
	v->free_regions = !c->mem.keep_regions && !c->migrate.incoming;
	migrate_init(&v->mig);
	block_signals();
	vmm_stats_start(&v->stats);
	if (vm_init(&v->vm, c->boot.mem)) {
		migrate_destroy(&v->mig);
		free(v);
		return VMM_EXIT_FAILURE;
	}
	if (!build_vnode(v))
		status = run_vnode(v);
	teardown(v);
	free(v);
	return status;
}

/* --exit-file: how the vNode ended, for a lego-pmon that is not our parent (it restarted
 * and adopted us). Written whole, then renamed into place: never half a number. */
static void write_exit_file(const char *path, int status)
{
	char tmp[4096], text[16];
	int fd, n = snprintf(text, sizeof(text), "%d\n", status);

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fdio_write_all(fd, text, (size_t)n) || close(fd) || rename(tmp, path)) {
		log_warn("cannot write the exit status to '%s'", path);
		if (fd >= 0)
			unlink(tmp);
	}
}

int main(int argc, char **argv)
{
	struct vmm_options c;
	int rc;

	log_init("lego-vmm");
	rc = vmm_options_parse(argc, argv, &c);
	if (rc < 0) {
		rc = vnode_main(&c);
		if (c.control.exit_file)
			write_exit_file(c.control.exit_file, rc);
	}
	vmm_options_free(&c);
	return rc;
}
