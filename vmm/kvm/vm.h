/* vm.h: the vNode context passed everywhere in lego-vmm (one per process). */
#ifndef LEGO_VM_H
#define LEGO_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bus.h"
#include "guest_mem.h"
#include "lib/proto/lego_guest_abi.h"

/* lego-vmm's own exit statuses (and a migration's two, MIG_STATUS_EXIT_* in
 * lib/proto/mig_status.h); any other status is the guest's debug-exit value. */
#define VMM_EXIT_USAGE	 64  /* bad command line */
#define VMM_EXIT_FAILURE 125 /* the VMM could not run the guest, or the guest crashed */

#define VM_PAUSE_WAIT_S 10 /* how long vm_pause waits for every vCPU to park */

struct vm_vcpu {
	struct vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	uint64_t exits_io, exits_mmio;
	/* Under vm->stop_lock: alive while the thread runs (cpu_clock valid), held while a
	 * pause parks it; cpu_ns_done is its CPU time once it has ended. */
	bool alive, held;
	clockid_t cpu_clock;
	uint64_t cpu_ns_done;
};

struct vm {
	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	int nr_vcpus;
	struct vm_vcpu vcpus[LEGO_MAX_VCPUS];
	struct kvm_cpuid2 *cpuid;
	uint32_t tsc_khz;

	/* A Linux guest (set before vcpu_create_all): only vCPU 0 gets an entry state, at
	 * the kernel's 64-bit entry with RSI = linux_zero_page; the others wait for INIT/SIPI
	 * from the in-kernel local APICs (irqchip: irqchip_create). */
	bool linux_guest;
	uint64_t linux_zero_page;
	bool irqchip;

	/* Set once by the first vCPU (or signal) that ends the run. */
	atomic_bool stopping;
	int exit_status;
	pthread_mutex_t stop_lock;
	int vcpus_halted;

	/* Changed under stop_lock: while paused, vCPUs wait on pause_cond outside KVM_RUN. */
	atomic_bool paused;
	pthread_cond_t pause_cond;

	uint64_t cpu_ns_base; /* vCPU time used before a migration brought the vNode here */
};

/* Map guest RAM and set up the buses; no KVM yet, so images can be checked first. */
int vm_init(struct vm *vm, uint64_t mem_size);

/* Whether the CPU flags show VT-x or AMD-V (without them /dev/kvm, if any, is PVM). */
bool vm_host_has_hw_virt(void);

/* Open /dev/kvm, check the API, create the VM and register guest RAM with it.
 * On failure, logs one precise line and returns -1. */
int vm_create_kvm(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Create and configure vCPU fds (CPUID, registers for entry at rip). */
int vcpu_create_all(struct vm *vm, int nr, uint64_t entry);

/* Run all vCPUs to the end of the guest; returns lego-vmm's exit status. */
int vcpu_run_all(struct vm *vm);

/* End the run with status: kicks every vCPU out of KVM_RUN. Safe from any thread;
 * only the first call's status is kept. */
void vm_stop(struct vm *vm, int status);

/* Take every vCPU out of KVM_RUN and park it until vm_resume; returns once all are
 * parked. Both return NULL, or why they did nothing. A stop still ends a paused run. */
const char *vm_pause(struct vm *vm);
const char *vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);

/* CPU time used so far by all vCPU threads, ended ones included. */
uint64_t vm_vcpu_cpu_ns(struct vm *vm);

#endif
