/* vcpu.c: vCPU creation, entry state, and the KVM_RUN loop that routes exits to the buses. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/arch/x86/cpuid.h"
#include "vmm/boot/linux_zeropage.h"
#include "lib/log.h"
#include "vm.h"
#include "vmm/arch/x86/x86_boot.h"

static int vcpu_setup(struct vm *vm, struct vm_vcpu *v, uint64_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	struct kvm_cpuid2 *cpuid;
	int rc;

	cpuid = cpuid_for_vcpu(vm->cpuid, v->index);
	if (!cpuid)
		return -ENOMEM;
	rc = ioctl(v->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (rc < 0) {
		log_error("vCPU %d: KVM_SET_CPUID2: %s", v->index, strerror(errno));
		return -1;
	}
	if (vm->linux_guest && cpuid_set_xcr0(v->fd, vm->cpuid))
		log_warn("vCPU %d: KVM_SET_XCRS: %s (continuing)", v->index, strerror(errno));
	if (vm->linux_guest && v->index > 0)
		return 0; /* an application processor: Linux starts it with INIT/SIPI */
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		log_error("vCPU %d: KVM_GET_SREGS: %s", v->index, strerror(errno));
		return -1;
	}
	x86_boot_sregs_for(&sregs,
			   vm->linux_guest ? &x86_boot_linux_selectors : &x86_boot_lego_selectors);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
		log_error("vCPU %d: KVM_SET_SREGS (long mode): %s", v->index, strerror(errno));
		return -1;
	}
	if (vm->linux_guest)
		x86_boot_linux_regs(&regs, entry, vm->linux_zero_page, LINUX_BOOT_STACK_TOP);
	else
		x86_boot_regs(&regs, entry, v->index);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		log_error("vCPU %d: KVM_SET_REGS: %s", v->index, strerror(errno));
		return -1;
	}
	x86_boot_fpu(&fpu);
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		log_warn("vCPU %d: KVM_SET_FPU: %s (continuing)", v->index, strerror(errno));
	return 0;
}

int vcpu_create_all(struct vm *vm, int nr, uint64_t entry)
{
	int mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (mmap_size < (int)sizeof(struct kvm_run)) {
		log_error("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->cpuid = cpuid_supported(vm->kvm_fd);
	if (!vm->cpuid)
		return -1;
	if (vm->linux_guest)
		cpuid_for_linux(vm->cpuid, vm->kvm_fd);
	for (int i = 0; i < nr; i++) {
		struct vm_vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->index = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			log_error("KVM_CREATE_VCPU %d: %s", i, strerror(errno));
			return -1;
		}
		vm->nr_vcpus = i + 1;
		v->run_size = (size_t)mmap_size;
		v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			log_error("vCPU %d: mmap of kvm_run: %s", i, strerror(errno));
			return -1;
		}
		if (vcpu_setup(vm, v, entry))
			return -1;
	}
	int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	return 0;
}

static void vcpu_report_crash(struct vm_vcpu *v, const char *what)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0 && ioctl(v->fd, KVM_GET_SREGS, &sregs) == 0)
		log_error("vCPU %d: %s at rip=0x%llx rsp=0x%llx cr2=0x%llx", v->index, what,
			  (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
			  (unsigned long long)sregs.cr2);
	else
		log_error("vCPU %d: %s", v->index, what);
}

/* One exit; returns false when this vCPU is finished. */
static bool vcpu_handle_exit(struct vm_vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	char what[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		bool out = run->io.direction == KVM_EXIT_IO_OUT;

		v->exits_io++;
		if (run->io.data_offset + (uint64_t)run->io.size * run->io.count > v->run_size) {
			vcpu_report_crash(v, "port I/O exit with data outside kvm_run");
			vm_stop(vm, VMM_EXIT_FAILURE);
			return false;
		}
		for (uint32_t i = 0; i < run->io.count; i++)
			bus_access(&vm->pio, run->io.port, data + i * run->io.size, run->io.size,
				   out);
		return true;
	}
	case KVM_EXIT_MMIO:
		v->exits_mmio++;
		if (run->mmio.len > sizeof(run->mmio.data))
			return true;
		bus_access(&vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			   run->mmio.is_write);
		return true;
	case KVM_EXIT_HLT:
		pthread_mutex_lock(&vm->stop_lock);
		vm->vcpus_halted++;
		bool all = vm->vcpus_halted == vm->nr_vcpus;
		pthread_mutex_unlock(&vm->stop_lock);
		log_debug("vCPU %d halted", v->index);
		if (all && !atomic_load(&vm->stopping)) {
			log_error("every vCPU halted without writing the debug-exit port (0x%x)",
				  LEGO_PORT_DEBUG_EXIT);
			vm_stop(vm, VMM_EXIT_FAILURE);
		}
		return false;
	case KVM_EXIT_SHUTDOWN:
		/* KVM has already reset the vCPU: its registers say nothing about the fault. */
		if (vm->linux_guest)
			log_error("vCPU %d: guest shut down (triple fault: a crash, or a reboot "
				  "with reboot=t)",
				  v->index);
		else
			log_error("vCPU %d: guest shut down (triple fault: an exception it "
				  "cannot handle, e.g. any fault, since the guest has no IDT)",
				  v->index);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_report_crash(v, what);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error (suberror %u)",
			 run->internal.suberror);
		vcpu_report_crash(v, what);
		break;
	case KVM_EXIT_INTR:
		return true;
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u", run->exit_reason);
		vcpu_report_crash(v, what);
		break;
	}
	vm_stop(vm, VMM_EXIT_FAILURE);
	return false;
}

/* While the vNode is paused, wait (asleep) outside KVM_RUN until it resumes or stops. */
static void vcpu_park(struct vm_vcpu *v)
{
	struct vm *vm = v->vm;

	if (!atomic_load(&vm->paused))
		return;
	pthread_mutex_lock(&vm->stop_lock);
	if (atomic_load(&vm->paused) && !atomic_load(&vm->stopping)) {
		v->held = true;
		pthread_cond_broadcast(&vm->pause_cond); /* vm_pause waits for every vCPU */
		while (atomic_load(&vm->paused) && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->pause_cond, &vm->stop_lock);
		v->held = false;
		/* vm_pause set it to kick us; a stop sets it again under this lock. */
		if (!atomic_load(&vm->stopping))
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vm_vcpu *v = arg;
	struct vm *vm = v->vm;
	struct timespec ts;

	pthread_mutex_lock(&vm->stop_lock);
	if (pthread_getcpuclockid(pthread_self(), &v->cpu_clock))
		v->cpu_clock = (clockid_t)-1; /* its CPU time is then left out */
	v->alive = true;
	pthread_mutex_unlock(&vm->stop_lock);
	for (;;) {
		vcpu_park(v);
		if (atomic_load(&vm->stopping))
			break;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_error("vCPU %d: KVM_RUN: %s", v->index, strerror(errno));
			vm_stop(vm, VMM_EXIT_FAILURE);
			break;
		}
		/* Once stopping (e.g. memory lost), no exit may reach a device. */
		if (atomic_load(&vm->stopping))
			break;
		if (!vcpu_handle_exit(v))
			break;
	}
	pthread_mutex_lock(&vm->stop_lock);
	if (!clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		v->cpu_ns_done = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	v->alive = false;
	pthread_cond_broadcast(&vm->pause_cond); /* an ended vCPU no longer holds up a pause */
	pthread_mutex_unlock(&vm->stop_lock);
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_run_all(struct vm *vm)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vm_vcpu *v = &vm->vcpus[i];
		int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

		if (err) {
			log_error("cannot start vCPU %d thread: %s", i, strerror(err));
			vm_stop(vm, VMM_EXIT_FAILURE);
			break;
		}
		pthread_mutex_lock(&vm->stop_lock);
		v->started = true;
		/* A pause that raced with this start skipped the kick (no thread id yet). */
		if (atomic_load(&vm->paused) && v->alive)
			pthread_kill(v->thread, SIGUSR1);
		pthread_mutex_unlock(&vm->stop_lock);
		/* A stop that raced with this start must still reach the new thread. */
		if (atomic_load(&vm->stopping))
			vm_stop(vm, vm->exit_status);
	}
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	return vm->exit_status;
}
