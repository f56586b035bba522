# images.mk: builds the freestanding guest (guest-drivers/) into $(BUILD)/images/lego-guest.elf.
# Included by the top-level Makefile, which provides BUILD, CC and Q; defines GUEST_IMAGES.

GUEST_DIR    := guest-drivers
GUEST_OBJDIR := $(BUILD)/images/obj
GUEST_ELF    := $(BUILD)/images/lego-guest.elf
GUEST_LDS    := $(GUEST_DIR)/guest.ld
GUEST_SUBDIRS := $(GUEST_DIR) $(GUEST_DIR)/runtime $(GUEST_DIR)/virtio $(GUEST_DIR)/workloads
GUEST_C_SRCS := $(sort $(foreach d,$(GUEST_SUBDIRS),$(wildcard $(d)/*.c)))
GUEST_S_SRCS := $(sort $(foreach d,$(GUEST_SUBDIRS),$(wildcard $(d)/*.S)))
GUEST_HDRS   := $(sort $(foreach d,$(GUEST_SUBDIRS),$(wildcard $(d)/*.h))) lib/proto/lego_guest_abi.h
GUEST_OBJS   := $(GUEST_S_SRCS:$(GUEST_DIR)/%.S=$(GUEST_OBJDIR)/%.o) \
	$(GUEST_C_SRCS:$(GUEST_DIR)/%.c=$(GUEST_OBJDIR)/%.o)

# Freestanding x86-64, no SSE (no FPU state is ever set up), no red zone, no PIC, no
# stack protector, no unwind tables; -fno-tree-loop-distribute-patterns so the mem*
# implementations are never turned into calls to themselves.
GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fcf-protection=none -fno-tree-loop-distribute-patterns \
	-fno-common -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wno-missing-field-initializers -I.
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_LDS) -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-dynamic-linker

GUEST_IMAGES := $(GUEST_ELF)

# Every object depends on every guest header (and the ABI header): a header change
# rebuilds the guest, without relying on generated dependency files.
$(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.c $(GUEST_HDRS) images/images.mk
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.S $(GUEST_HDRS) images/images.mk
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_ELF): $(GUEST_OBJS) $(GUEST_LDS) images/images.mk
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)
