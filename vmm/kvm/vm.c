/* vm.c: KVM VM lifetime: /dev/kvm checks, memslots, stopping the run from any thread. */
#include "vm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"

int vm_init(struct vm *vm, uint64_t mem_size)
{
	pthread_condattr_t ca;
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	/* vm_pause's deadline must not move with the wall clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->pause_cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&vm->stopping, false);
	atomic_init(&vm->paused, false);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	err = guest_mem_init(&vm->mem, mem_size);
	if (err) {
		log_error("cannot map %llu MiB of guest RAM: %s",
			  (unsigned long long)(mem_size >> 20), strerror(-err));
		return -1;
	}
	return 0;
}

static int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
		log_error("no /dev/kvm: this host offers no KVM (is kvm_intel/kvm_amd loaded? on "
			  "machines without it, tests use tests/testbed/run-in-l1)");
	else if (errno == EACCES || errno == EPERM)
		log_error("cannot open /dev/kvm: %s (is this user in the kvm group?)",
			  strerror(errno));
	else
		log_error("cannot open /dev/kvm: %s", strerror(errno));
	return -1;
}

/* Whether the CPU flags show VT-x or AMD-V. Without them /dev/kvm is software
 * virtualization (PVM), which runs this guest under instruction emulation. */
bool vm_host_has_hw_virt(void)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return true; /* cannot tell: say nothing */
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return found;
}

int vm_create_kvm(struct vm *vm)
{
	int api;

	vm->kvm_fd = kvm_open();
	if (vm->kvm_fd < 0)
		return -1;
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		log_error("/dev/kvm speaks API version %d, lego-vmm needs %d", api,
			  KVM_API_VERSION);
		return -1;
	}
	if (!vm_host_has_hw_virt())
		log_warn("this CPU has no VT-x/AMD-V: /dev/kvm is software virtualization (PVM), "
			 "which runs a lego guest under instruction emulation (measured: memory "
			 "loops ~1000x slower than with hardware virtualization)");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		log_error("KVM lacks KVM_CAP_USER_MEMORY");
		return -1;
	}
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		log_error("KVM_CREATE_VM failed: %s", strerror(errno));
		return -1;
	}
	/* Intel needs a TSS area for its real-mode emulation; harmless elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		log_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	for (int i = 0; i < vm->mem.nr_slots; i++) {
		struct kvm_userspace_memory_region region = {
			.slot = (uint32_t)i,
			.guest_phys_addr = vm->mem.slots[i].gpa,
			.memory_size = vm->mem.slots[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)vm->mem.slots[i].hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			log_error("KVM_SET_USER_MEMORY_REGION (slot %d, %llu MiB at 0x%llx): %s", i,
				  (unsigned long long)(region.memory_size >> 20),
				  (unsigned long long)region.guest_phys_addr, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Under stop_lock. immediate_exit covers a vCPU about to enter KVM_RUN; the signal one
 * inside it. Only live threads are signalled: an ended one may already be joined, and
 * before vcpu_run_all records a thread's id (started) it has none. */
static void kick_vcpus(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vm_vcpu *v = &vm->vcpus[i];

		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->started && v->alive && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, SIGUSR1);
	}
}

void vm_stop(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->exit_status = status;
		atomic_store(&vm->stopping, true);
	}
	kick_vcpus(vm);
	pthread_cond_broadcast(&vm->pause_cond); /* parked vCPUs must see the stop too */
	pthread_mutex_unlock(&vm->stop_lock);
}

/* Under stop_lock: every live vCPU thread is parked (not started or ended ones count). */
static bool all_parked(const struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].alive && !vm->vcpus[i].held)
			return false;
	return true;
}

const char *vm_pause(struct vm *vm)
{
	const char *err = NULL;
	struct timespec deadline;

	pthread_mutex_lock(&vm->stop_lock);
	if (atomic_load(&vm->stopping))
		err = "the vNode is stopping";
	else if (atomic_load(&vm->paused))
		err = "already paused";
	if (err)
		goto out;
	atomic_store(&vm->paused, true);
	kick_vcpus(vm);
	/* A vCPU busy in a device model parks when it is done; bounded, so that a stuck one
	 * cannot hold the control socket: then the pause is undone. */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += VM_PAUSE_WAIT_S;
	while (!all_parked(vm) && !atomic_load(&vm->stopping))
		if (pthread_cond_timedwait(&vm->pause_cond, &vm->stop_lock, &deadline) == ETIMEDOUT)
			break;
	if (atomic_load(&vm->stopping)) {
		err = "the vNode stopped while pausing";
	} else if (!all_parked(vm)) {
		err = "a vCPU did not leave KVM_RUN in time; not paused";
		atomic_store(&vm->paused, false);
		/* Or the kicked vCPUs that did not park would get EINTR from KVM_RUN forever. */
		for (int i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].run)
				__atomic_store_n(&vm->vcpus[i].run->immediate_exit, 0,
						 __ATOMIC_SEQ_CST);
		pthread_cond_broadcast(&vm->pause_cond);
	}
out:
	pthread_mutex_unlock(&vm->stop_lock);
	return err;
}

const char *vm_resume(struct vm *vm)
{
	const char *err = NULL;

	pthread_mutex_lock(&vm->stop_lock);
	if (atomic_load(&vm->stopping))
		err = "the vNode is stopping";
	else if (!atomic_load(&vm->paused))
		err = "not paused";
	else
		atomic_store(&vm->paused, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	return err;
}

bool vm_is_paused(struct vm *vm)
{
	return atomic_load(&vm->paused);
}

uint64_t vm_vcpu_cpu_ns(struct vm *vm)
{
	uint64_t ns = vm->cpu_ns_base;

	pthread_mutex_lock(&vm->stop_lock);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vm_vcpu *v = &vm->vcpus[i];
		struct timespec ts;

		/* A live thread's clock is valid; an ended one left its total behind. */
		if (v->alive && !clock_gettime(v->cpu_clock, &ts))
			ns += (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		else if (!v->alive)
			ns += v->cpu_ns_done;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return ns;
}

void vm_destroy(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vm_vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, v->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	guest_mem_destroy(&vm->mem);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->pause_cond);
}
