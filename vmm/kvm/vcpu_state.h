/* vcpu_state.h: one vCPU's complete architectural state, read from and written to KVM, for
 * live migration: general, segment/control and debug registers, FPU/SSE/AVX (XSAVE), XCR0,
 * MSRs and pending events. The vCPU must be out of KVM_RUN (paused) for both.
 *
 * The KVM structures are the x86-64 uapi layouts (a stable ABI, little-endian), so a state
 * read on one host is written as is on another; what a host cannot take is refused there.
 */
#ifndef LEGO_VCPU_STATE_H
#define LEGO_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VCPU_STATE_MAX_MSRS  512
#define VCPU_STATE_MAX_XSAVE (64 * 1024)

/* Which optional parts are present. */
#define VS_XSAVE     1U
#define VS_XCRS	     2U
#define VS_EVENTS    4U
#define VS_DEBUGREGS 8U
#define VS_ALL	     (VS_XSAVE | VS_XCRS | VS_EVENTS | VS_DEBUGREGS)

struct vcpu_state_msr {
	uint32_t index;
	uint64_t value;
};

struct vcpu_state {
	uint32_t has; /* VS_* */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu; /* always: the fallback when XSAVE is absent */
	uint32_t xsave_len;
	uint8_t *xsave; /* xsave_len bytes (malloc'ed) when VS_XSAVE */
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	uint32_t nr_msrs;
	struct vcpu_state_msr *msrs; /* malloc'ed */
};

/* The MSRs this host's KVM saves and restores (KVM_GET_MSR_INDEX_LIST). malloc'ed array and
 * count, or NULL with *n = 0 when KVM offers no list. */
uint32_t *vcpu_state_msr_list(int kvm_fd, uint32_t *n);

/* Read the state of vCPU fd. msr_list: the MSRs to try (those KVM refuses to read are left
 * out). Returns 0, or -1 with err. */
int vcpu_state_get(int kvm_fd, int vcpu_fd, const uint32_t *msr_list, uint32_t nr_msrs,
		   struct vcpu_state *s, char *err, size_t errlen);

/* Write a state into vCPU fd. MSRs this KVM refuses are counted in *msrs_refused (and
 * logged at debug level); anything else refused is an error: -1 with err. */
int vcpu_state_set(int kvm_fd, int vcpu_fd, const struct vcpu_state *s, uint32_t *msrs_refused,
		   char *err, size_t errlen);

void vcpu_state_free(struct vcpu_state *s);

/* One MSR of vCPU fd: 0, or -1 if KVM does not take it. */
int vcpu_state_msr_get(int vcpu_fd, uint32_t index, uint64_t *value);
int vcpu_state_msr_set(int vcpu_fd, uint32_t index, uint64_t value);

/* A vCPU's in-kernel local APIC and run state, in a vNode with KVM's irqchip (a Linux
 * guest). Written after the vCPU's state above (its APIC base MSR decides how the APIC
 * state reads), and then the TSC deadline, which KVM only takes once the APIC's timer is
 * in TSC-deadline mode. */
struct vcpu_state_apic {
	uint32_t mp_state; /* KVM_MP_STATE_RUNNABLE .. KVM_MP_STATE_SIPI_RECEIVED */
	uint64_t tsc_deadline;
	struct kvm_lapic_state lapic;
};

int vcpu_state_apic_get(int vcpu_fd, struct vcpu_state_apic *a, char *err, size_t errlen);
int vcpu_state_apic_set(int vcpu_fd, const struct vcpu_state_apic *a, char *err, size_t errlen);

#endif
