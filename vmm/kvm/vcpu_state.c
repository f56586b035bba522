/* vcpu_state.c: read and write a vCPU's architectural state through the KVM ioctls. */
#include "vcpu_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/log.h"

#define MSR_BATCH 64

uint32_t *vcpu_state_msr_list(int kvm_fd, uint32_t *n)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	struct kvm_msr_list *l;
	uint32_t *out;

	*n = 0;
	/* The first call fails with E2BIG and says how many there are. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) == 0 || errno != E2BIG || !probe.nmsrs)
		return NULL;
	if (probe.nmsrs > VCPU_STATE_MAX_MSRS)
		probe.nmsrs = VCPU_STATE_MAX_MSRS;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return NULL;
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return NULL;
	}
	out = malloc(l->nmsrs * sizeof(uint32_t));
	if (out) {
		memcpy(out, l->indices, l->nmsrs * sizeof(uint32_t));
		*n = l->nmsrs;
	}
	free(l);
	return out;
}

/* Read MSRs in batches; KVM stops a batch at the first MSR it refuses: skip that one. */
static int get_msrs(int fd, const uint32_t *list, uint32_t n, struct vcpu_state *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_BATCH];
	} b;

	s->msrs = calloc(n ? n : 1, sizeof(*s->msrs));
	if (!s->msrs)
		return -1;
	for (uint32_t i = 0; i < n;) {
		uint32_t k = n - i < MSR_BATCH ? n - i : MSR_BATCH;
		int got;

		memset(&b, 0, sizeof(b));
		b.hdr.nmsrs = k;
		for (uint32_t j = 0; j < k; j++)
			b.e[j].index = list[i + j];
		got = ioctl(fd, KVM_GET_MSRS, &b);
		if (got < 0)
			got = 0;
		for (int j = 0; j < got; j++) {
			s->msrs[s->nr_msrs].index = b.e[j].index;
			s->msrs[s->nr_msrs++].value = b.e[j].data;
		}
		if ((uint32_t)got < k)
			log_debug("migration: KVM does not read MSR 0x%x: left out",
				  list[i + (uint32_t)got]);
		i += (uint32_t)got < k ? (uint32_t)got + 1 : k;
	}
	return 0;
}

int vcpu_state_get(int kvm_fd, int vcpu_fd, const uint32_t *msr_list, uint32_t nr_msrs,
		   struct vcpu_state *s, char *err, size_t errlen)
{
	int xsave2;

	memset(s, 0, sizeof(*s));
	if (ioctl(vcpu_fd, KVM_GET_REGS, &s->regs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &s->sregs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_FPU, &s->fpu) < 0) {
		snprintf(err, errlen, "reading registers: %s", strerror(errno));
		return -1;
	}
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		xsave2 = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
		s->xsave_len = xsave2 > (int)sizeof(struct kvm_xsave) ? (uint32_t)xsave2
								      : sizeof(struct kvm_xsave);
		if (s->xsave_len > VCPU_STATE_MAX_XSAVE) {
			snprintf(err, errlen, "XSAVE area of %u bytes is too large", s->xsave_len);
			return -1;
		}
		s->xsave = calloc(1, s->xsave_len);
		if (!s->xsave) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (ioctl(vcpu_fd, xsave2 > 0 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, s->xsave) == 0) {
			s->has |= VS_XSAVE;
		} else {
			free(s->xsave);
			s->xsave = NULL;
			s->xsave_len = 0;
		}
	}
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0 &&
	    ioctl(vcpu_fd, KVM_GET_XCRS, &s->xcrs) == 0)
		s->has |= VS_XCRS;
	if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &s->events) == 0)
		s->has |= VS_EVENTS;
	if (ioctl(vcpu_fd, KVM_GET_DEBUGREGS, &s->debugregs) == 0)
		s->has |= VS_DEBUGREGS;
	if (get_msrs(vcpu_fd, msr_list, nr_msrs, s)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Write MSRs one batch at a time; those KVM refuses are counted, not fatal: a host may lack
 * a feature the guest never enabled (the registers that matter are in sregs). */
static void set_msrs(int fd, const struct vcpu_state *s, uint32_t *refused)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_BATCH];
	} b;

	*refused = 0;
	for (uint32_t i = 0; i < s->nr_msrs;) {
		uint32_t k = s->nr_msrs - i < MSR_BATCH ? s->nr_msrs - i : MSR_BATCH;
		int done;

		memset(&b, 0, sizeof(b));
		b.hdr.nmsrs = k;
		for (uint32_t j = 0; j < k; j++) {
			b.e[j].index = s->msrs[i + j].index;
			b.e[j].data = s->msrs[i + j].value;
		}
		done = ioctl(fd, KVM_SET_MSRS, &b);
		if (done < 0)
			done = 0;
		if ((uint32_t)done < k) {
			log_debug("migration: KVM refuses MSR 0x%x = 0x%llx",
				  s->msrs[i + (uint32_t)done].index,
				  (unsigned long long)s->msrs[i + (uint32_t)done].value);
			(*refused)++;
		}
		i += (uint32_t)done < k ? (uint32_t)done + 1 : k;
	}
}

int vcpu_state_set(int kvm_fd, int vcpu_fd, const struct vcpu_state *s, uint32_t *msrs_refused,
		   char *err, size_t errlen)
{
	const char *what = NULL;

	*msrs_refused = 0;
	/* Control registers and modes first: the rest is interpreted in their light. */
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s->sregs) < 0)
		what = "segment and control registers";
	else if (ioctl(vcpu_fd, KVM_SET_REGS, &s->regs) < 0)
		what = "general registers";
	if (!what && (s->has & VS_XSAVE)) {
		int xsave2 = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
		uint32_t here = xsave2 > (int)sizeof(struct kvm_xsave) ? (uint32_t)xsave2
								       : sizeof(struct kvm_xsave);

		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0 || s->xsave_len > here) {
			snprintf(err, errlen,
				 "the source's XSAVE area (%u bytes) does not fit this host's (%u)",
				 s->xsave_len, here);
			return -1;
		}
		uint8_t *buf = calloc(1, here);

		if (!buf) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(buf, s->xsave, s->xsave_len);
		if (ioctl(vcpu_fd, KVM_SET_XSAVE, buf) < 0)
			what = "XSAVE state";
		free(buf);
	} else if (!what && ioctl(vcpu_fd, KVM_SET_FPU, &s->fpu) < 0) {
		what = "FPU state";
	}
	if (!what && (s->has & VS_XCRS) && ioctl(vcpu_fd, KVM_SET_XCRS, &s->xcrs) < 0)
		what = "XCR0";
	if (!what)
		set_msrs(vcpu_fd, s, msrs_refused);
	if (!what && (s->has & VS_EVENTS) && ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &s->events) < 0)
		what = "pending events";
	if (!what && (s->has & VS_DEBUGREGS) &&
	    ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &s->debugregs) < 0)
		what = "debug registers";
	if (what) {
		snprintf(err, errlen, "KVM refuses the %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

void vcpu_state_free(struct vcpu_state *s)
{
	free(s->xsave);
	free(s->msrs);
	s->xsave = NULL;
	s->msrs = NULL;
}

struct one_msr {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e;
};

int vcpu_state_msr_get(int vcpu_fd, uint32_t index, uint64_t *value)
{
	struct one_msr m = {.hdr.nmsrs = 1, .e.index = index};

	if (ioctl(vcpu_fd, KVM_GET_MSRS, &m) != 1)
		return -1;
	*value = m.e.data;
	return 0;
}

int vcpu_state_msr_set(int vcpu_fd, uint32_t index, uint64_t value)
{
	struct one_msr m = {.hdr.nmsrs = 1, .e.index = index, .e.data = value};

	return ioctl(vcpu_fd, KVM_SET_MSRS, &m) == 1 ? 0 : -1;
}

#define MSR_IA32_TSC_DEADLINE 0x6e0

int vcpu_state_apic_get(int vcpu_fd, struct vcpu_state_apic *a, char *err, size_t errlen)
{
	struct kvm_mp_state mp;

	memset(a, 0, sizeof(*a));
	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &a->lapic) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_MP_STATE, &mp) < 0) {
		snprintf(err, errlen, "reading the local APIC: %s", strerror(errno));
		return -1;
	}
	a->mp_state = mp.mp_state;
	/* A KVM without the TSC-deadline timer has none to carry. */
	if (vcpu_state_msr_get(vcpu_fd, MSR_IA32_TSC_DEADLINE, &a->tsc_deadline))
		a->tsc_deadline = 0;
	return 0;
}

int vcpu_state_apic_set(int vcpu_fd, const struct vcpu_state_apic *a, char *err, size_t errlen)
{
	struct kvm_lapic_state lapic = a->lapic;
	struct kvm_mp_state mp = {.mp_state = a->mp_state};
	const char *what = NULL;

	errno = 0;
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
		what = "local APIC";
	else if (a->tsc_deadline &&
		 vcpu_state_msr_set(vcpu_fd, MSR_IA32_TSC_DEADLINE, a->tsc_deadline))
		what = "TSC deadline";
	else if (ioctl(vcpu_fd, KVM_SET_MP_STATE, &mp) < 0)
		what = "run state (MP state)";
	if (what) {
		snprintf(err, errlen, "KVM refuses the %s: %s", what,
			 errno ? strerror(errno) : "not taken");
		return -1;
	}
	return 0;
}
