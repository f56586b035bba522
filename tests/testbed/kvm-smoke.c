// kvm-smoke.c: the smallest raw-KVM check: one vCPU runs real-mode code doing N `out`s then `hlt`;
// prints the cost of an exit.
//
// Usage: kvm-smoke [N]   (N port writes, 1..65535, default 2000)
// Exit status 0 and "kvm-smoke: ok: ..." when every exit was the expected one, 1 otherwise.
#include <errno.h>
#include <fcntl.h>
#include <asm/processor-flags.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM 0x10000
#define CODE_ADDR 0x1000
#define PORT_DATA 0x10
#define PORT_DONE 0x11

// 16-bit real-mode code at CODE_ADDR; CX holds N.
static const uint8_t code[] = {
	0xba, PORT_DATA, 0x00, // mov dx, PORT_DATA
	0x31, 0xc0,	       //            xor ax, ax
	0xee,		       //                  1: out dx, al
	0x40,		       //                  inc ax
	0xe2, 0xfc,	       //            loop 1b
	0xb0, 0x42,	       //            mov al, 0x42
	0xe6, PORT_DONE,       //       out PORT_DONE, al
	0xf4,		       //                  hlt
};

static int fail(const char *what)
{
	printf("kvm-smoke: FAIL: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	return 1;
}

// tests/host/testbed.t builds this file alone with the host's gcc (no -I. to reach
// lib/mono_clock.h), so it keeps its own clock.
static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: kvm-smoke [N]  (N from 1 to 65535, default 2000)\n"
		       "Runs N port writes and a hlt in a raw KVM vCPU; prints the cost of an "
		       "exit.\n");
		return 0;
	}
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 2000;
	if (n < 1 || n > 65535) {
		fprintf(stderr, "usage: kvm-smoke [N]  (N from 1 to 65535)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	errno = 0;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		printf("kvm-smoke: FAIL: KVM API version %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0)
		return fail("no KVM_CAP_USER_MEMORY");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	uint8_t *mem =
		mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + CODE_ADDR, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = X86_EFLAGS_FIXED, .rcx = (uint64_t)n};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	long outs = 0;
	int done = 0;
	double t_first = 0, t_last = 0;
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		errno = 0;
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t v = *((uint8_t *)run + run->io.data_offset);
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
			    run->io.count != 1) {
				printf("kvm-smoke: FAIL: unexpected I/O exit (port 0x%x dir %d "
				       "size %d)\n",
				       run->io.port, run->io.direction, run->io.size);
				return 1;
			}
			if (run->io.port == PORT_DATA) {
				if (done || v != (uint8_t)outs) {
					printf("kvm-smoke: FAIL: out #%ld wrote 0x%02x, want "
					       "0x%02x\n",
					       outs, v, (uint8_t)outs);
					return 1;
				}
				t_last = now_us();
				if (outs == 0)
					t_first = t_last;
				outs++;
			} else if (run->io.port == PORT_DONE && v == 0x42 && !done) {
				done = 1;
			} else {
				printf("kvm-smoke: FAIL: out 0x%02x to port 0x%x\n", v,
				       run->io.port);
				return 1;
			}
			break;
		}
		case KVM_EXIT_HLT:
			if (!done || outs != n) {
				printf("kvm-smoke: FAIL: hlt after %ld of %ld outs (done marker "
				       "%s)\n",
				       outs, n, done ? "seen" : "missing");
				return 1;
			}
			printf("kvm-smoke: ok: %ld port-I/O exits then hlt; %.1f us per exit\n", n,
			       n > 1 ? (t_last - t_first) / (double)(n - 1) : 0.0);
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			printf("kvm-smoke: FAIL: entry failed, hardware reason 0x%llx\n",
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return 1;
		case KVM_EXIT_INTERNAL_ERROR:
			printf("kvm-smoke: FAIL: KVM internal error, suberror %u\n",
			       run->internal.suberror);
			return 1;
		default:
			printf("kvm-smoke: FAIL: unexpected exit reason %u\n", run->exit_reason);
			return 1;
		}
	}
}
