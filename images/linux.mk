# linux.mk: the Linux guest image (make linux-image): the Debian kernel, a busybox initramfs with lego's init and checks, an ext4 root disk.
# Included by the top-level Makefile, which provides BUILD, CC and Q; defines LINUX_IMAGES.
#
# The kernel package is the one the nested test bed fetches (tests/testbed/prepare.sh, once,
# cached under $(BUILD)/testbed/): its ELF vmlinux (booted directly: no decompression), its
# bzImage and the modules the guest needs. LINUX_ROOT_DIR=DIR adds DIR's files to the root
# disk (make linux-image LINUX_ROOT_DIR=...).

LINUX_DIR     := $(BUILD)/images/linux
LINUX_SRC     := guest-drivers/linux
LINUX_TESTBED := $(BUILD)/testbed
LINUX_PROGS   := $(patsubst $(LINUX_SRC)/%.c,$(LINUX_DIR)/bin/%,$(wildcard $(LINUX_SRC)/lego-*.c))
LINUX_IMAGES  := $(LINUX_DIR)/vmlinux $(LINUX_DIR)/bzImage $(LINUX_DIR)/initramfs.cpio \
	$(LINUX_DIR)/root.ext4
LINUX_ROOT_DIR ?=
# Static programs for the guest's userspace (glibc from build-essential).
LINUX_CFLAGS  := -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static -pthread \
	-I. -I$(LINUX_SRC)

.PHONY: linux-image
linux-image: $(LINUX_IMAGES)

$(LINUX_DIR)/bin/%: $(LINUX_SRC)/%.c $(LINUX_SRC)/check_util.h lib/proto/lego_guest_abi.h images/linux.mk | deps
	@mkdir -p $(@D)
	$(Q)$(CC) $(LINUX_CFLAGS) $< -o $@

# prepare.sh touches ready whenever it has (re)made the kernel files.
$(LINUX_TESTBED)/ready: tests/testbed/prepare.sh tests/testbed/l1-init | deps
	$(Q)tests/testbed/prepare.sh --quiet

$(LINUX_DIR)/vmlinux: $(LINUX_TESTBED)/ready
	@mkdir -p $(@D)
	$(Q)ln -f $(LINUX_TESTBED)/l1-kernel $@

$(LINUX_DIR)/bzImage: $(LINUX_TESTBED)/ready
	@mkdir -p $(@D)
	$(Q)ln -f $(LINUX_TESTBED)/kernel/vmlinuz $@

$(LINUX_DIR)/initramfs.cpio: images/linux/init images/linux/mkinitramfs.sh $(LINUX_PROGS) \
	images/linux/udhcpc.script $(LINUX_TESTBED)/ready
	$(Q)images/linux/mkinitramfs.sh $@ images/linux/init $(LINUX_TESTBED)/kernel/guest-modules \
		$(LINUX_PROGS) images/linux/udhcpc.script

# The default root tree: the check programs, busybox and the guest's modules (real files of
# every size for the manifest check), plus LINUX_ROOT_DIR.
$(LINUX_DIR)/root.ext4: images/linux/mkrootdisk.sh $(LINUX_PROGS) $(LINUX_TESTBED)/ready \
	$(if $(LINUX_ROOT_DIR),FORCE)
	@rm -rf $(LINUX_DIR)/root-tree && mkdir -p $(LINUX_DIR)/root-tree/bin $(LINUX_DIR)/root-tree/lib
	$(Q)cp $(LINUX_PROGS) /bin/busybox $(LINUX_DIR)/root-tree/bin/ && \
		cp -r $(LINUX_TESTBED)/kernel/guest-modules $(LINUX_DIR)/root-tree/lib/modules
	$(Q)images/linux/mkrootdisk.sh $@ $(LINUX_DIR)/bin/lego-blkcheck $(LINUX_DIR)/root-tree \
		$(LINUX_ROOT_DIR)
	@rm -rf $(LINUX_DIR)/root-tree

.PHONY: FORCE
FORCE:
