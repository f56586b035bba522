# Makefile: builds every lego program, the guest images, tests and benchmarks.
#
#   make            deps + release programs + guest images
#   make demo       boot a vNode and show what happened
#   make test       the whole suite (unit, ASan+UBSan integration, malicious guest) under prove
#   make fuzz       the libFuzzer targets, $(FUZZ_SECONDS) s each (make test runs them briefly)
#   make bench      benchmarks: table on stdout, JSON lines in build/bench/results.jsonl
#   make soak       the memory pool's soak test for SOAK_SECONDS (default 3600; SOAK_SEED=N replays)
#   make images     guest images only
#   make linux-image  the Linux guest image (Debian kernel, initramfs, root disk; make test)
#   make install    programs, guest images, systemd units and their options files (PREFIX,
#                   default /usr/local; DESTDIR; BINDIR, DATADIR, SYSCONFDIR, UNITDIR)
#   make deps       install missing Debian packages (every target above runs it first)
#   make format     clang-format the C sources

BUILD    ?= build
CC       ?= gcc
HOST_CC  := $(CC)
Q        ?= @

# Two builds of every host program: release (-O2) and asan (ASan+UBSan, used by make test).
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 $(WARN) -g -D_GNU_SOURCE -I. -MMD -MP \
	$(shell pkg-config --cflags libfdt 2>/dev/null) \
	-I/usr/include/libxml2 # Debian's libxml2-dev; fixed, as pkg-config runs before make deps
release_CFLAGS := -O2 -D_FORTIFY_SOURCE=2
asan_CFLAGS    := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
release_LDFLAGS :=
asan_LDFLAGS    := -fsanitize=address,undefined
LIBS     := -lfdt -ljansson -luuid -lgnutls -lpthread -ldl -lm

# One library per source folder (build/VARIANT/lib/DIR.a, every .c of the folder but a
# program's main); a program links its own folders' libraries and the shared ones under lib/.
SHARED_DIRS := lib lib/proto lib/fabric lib/cluster lib/client lib/tls lib/cap
VMM_DIRS    := vmm/kvm vmm/arch/x86 vmm/boot vmm/devices/legacy vmm/devices/virtio vmm/block \
	vmm/net vmm/memory vmm/migration vmm/control
MMON_DIRS   := hypervisor/mmon
SMON_DIRS   := hypervisor/smon
CONTROLD_DIRS := controlplane/controld controlplane/controld/libvirt controlplane/controld/mempool
PMON_DIRS   := controlplane/pmon
LEGOCTL_DIRS := controlplane/legoctl
LIB_DIRS    := $(SHARED_DIRS) $(VMM_DIRS) $(MMON_DIRS) $(SMON_DIRS) $(CONTROLD_DIRS) $(PMON_DIRS) \
	$(LEGOCTL_DIRS)
# A program's entry point: main.c or *_main.c; never in a library.
MAIN_SRC = $(wildcard $(1)/main.c $(1)/*_main.c)
lib_srcs = $(filter-out $(call MAIN_SRC,$(1)),$(wildcard $(1)/*.c))
lib_file = $(BUILD)/$(1)/lib/$(subst /,_,$(2)).a
# The libraries of a list of folders (those with sources), the shared ones last.
libs_of  = $(foreach d,$(2) $(SHARED_DIRS),$(if $(call lib_srcs,$(d)),$(call lib_file,$(1),$(d))))
LINK_GROUP = -Wl,--start-group $(1) -Wl,--end-group

RADOS_LIBS := -lrados
NET_LIBS   := -lmnl -lnftables # lego-pmon's networks: rtnetlink, nftables
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
BENCH_TOOL_SRCS := $(wildcard tests/bench/*.c)

.PHONY: all deps programs images test unit bench demo fuzz format clean check-format soak install
.SECONDARY:
.DEFAULT_GOAL := all

all: deps programs images

deps:
	$(Q)scripts/install-deps.sh

# ---- host programs, per variant ---------------------------------------------------
define libdir
$(call lib_file,$(1),$(2)): $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(call lib_srcs,$(2)))
	@mkdir -p $$(@D)
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef

# program variant name main-objects folders extra-libs
define program
$(BUILD)/$(1)/bin/$(2): $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(3)) $(call libs_of,$(1),$(4))
	@mkdir -p $$(@D)
	$(Q)$(HOST_CC) $$($(1)_LDFLAGS) -o $$@ $$(call LINK_GROUP,$$^) $(LIBS) $(5)
endef

define variant
$(BUILD)/$(1)/obj/%.o: %.c | deps
	@mkdir -p $$(@D)
	$(Q)$(HOST_CC) $(BASE_CFLAGS) $$($(1)_CFLAGS) -c $$< -o $$@

$(foreach d,$(LIB_DIRS),$(if $(call lib_srcs,$(d)),$(eval $(call libdir,$(1),$(d)))))
$(eval $(call program,$(1),lego-vmm,vmm/main.c,$(VMM_DIRS)))
$(eval $(call program,$(1),lego-mmon,$(call MAIN_SRC,hypervisor/mmon),$(MMON_DIRS)))
$(eval $(call program,$(1),lego-smon,$(call MAIN_SRC,hypervisor/smon),$(SMON_DIRS),$(RADOS_LIBS)))
$(eval $(call program,$(1),lego-controld,$(call MAIN_SRC,controlplane/controld),$(CONTROLD_DIRS),-lxml2 $(RADOS_LIBS)))
$(eval $(call program,$(1),lego-pmon,$(call MAIN_SRC,controlplane/pmon),$(PMON_DIRS),$(NET_LIBS)))
$(eval $(call program,$(1),legoctl,$(call MAIN_SRC,controlplane/legoctl),$(LEGOCTL_DIRS)))

$(BUILD)/$(1)/tests/unit/%: $(BUILD)/$(1)/obj/tests/unit/%.o $(call libs_of,$(1),$(LIB_DIRS))
	@mkdir -p $$(@D)
	$(Q)$(HOST_CC) $$($(1)_LDFLAGS) -o $$@ $$(call LINK_GROUP,$$^) $(LIBS) $(RADOS_LIBS) -lxml2 $(NET_LIBS) -lcmocka

$(BUILD)/$(1)/bin/%: $(BUILD)/$(1)/obj/tests/bench/%.o $(call libs_of,$(1),$(VMM_DIRS))
	@mkdir -p $$(@D)
	$(Q)$(HOST_CC) $$($(1)_LDFLAGS) -o $$@ $$(call LINK_GROUP,$$^) $(LIBS)

$(BUILD)/$(1)/bin/%: $(BUILD)/$(1)/obj/tests/tools/%.o $(call libs_of,$(1),)
	@mkdir -p $$(@D)
	$(Q)$(HOST_CC) $$($(1)_LDFLAGS) -o $$@ $$(call LINK_GROUP,$$^) $(LIBS)
endef
$(eval $(call variant,release))
$(eval $(call variant,asan))

PROGRAMS := lego-vmm lego-mmon lego-smon legoctl lego-controld lego-pmon
RELEASE_BINS := $(PROGRAMS:%=$(BUILD)/release/bin/%)
ASAN_BINS := $(PROGRAMS:%=$(BUILD)/asan/bin/%)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/unit/%)
BENCH_TOOLS := $(BENCH_TOOL_SRCS:tests/bench/%.c=$(BUILD)/release/bin/%)

programs: $(RELEASE_BINS)

# ---- guest images ------------------------------------------------------------------
include images/images.mk
include images/linux.mk

images: $(GUEST_IMAGES)

# Tiny guests for the VMM's failure-path tests.
TEST_GUEST_SRCS := $(wildcard tests/vmm/guests/*.S)
TEST_GUESTS := $(TEST_GUEST_SRCS:tests/vmm/guests/%.S=$(BUILD)/images/test-%.elf)
$(BUILD)/images/test-%.elf: tests/vmm/guests/%.S | deps
	@mkdir -p $(@D)
	$(Q)$(HOST_CC) -nostdlib -static -no-pie -Wl,-n -Wl,-Ttext=0x100000 -Wl,--build-id=none $< -o $@

# The peer's guest for the vmm-start bench: QEMU boots it through its PVH entry note.
BENCH_GUESTS := $(BUILD)/images/bench-pvh-hello.elf
$(BUILD)/images/bench-pvh-hello.elf: tests/bench/guests/pvh-hello.S | deps
	@mkdir -p $(@D)
	$(Q)as --32 $< -o $@.o && ld -m elf_i386 -n -Ttext=0x100000 --build-id=none $@.o -o $@ && rm -f $@.o

# ---- fuzz targets (clang libFuzzer with ASan+UBSan; the code under test built in) ----
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 300
# The decoders under test (the same sources for every target; the linker keeps what it uses).
FUZZ_CODE_SRCS := $(addprefix controlplane/controld/libvirt/,xdr.c rpc_proto.c domain_xml.c domain_xml_meta.c domain_xml_util.c domain_xml_iface.c mig_args.c) \
	controlplane/controld/placement.c \
	controlplane/controld/vnode_map.c lib/proto/vmm_regions.c lib/proto/mig_status.c \
	lib/json_flat.c lib/proto/wire.c lib/proto/cluster_proto.c lib/proto/net_proto.c lib/parse.c lib/uuid_str.c \
	lib/cluster/cluster_io.c lib/tls/tls_conn.c lib/tls/tls_pki.c lib/tcp.c lib/fdio.c \
	lib/mem_budget.c lib/log.c
# Targets that need more: the data plane's codecs and request handlers.
FUZZ_CAP_SRCS := $(wildcard lib/cap/*.c)
FUZZ_EXTRA_mem_proto := lib/proto/mem_proto.c $(FUZZ_CAP_SRCS)
FUZZ_EXTRA_stor_proto := lib/proto/stor_proto.c
FUZZ_EXTRA_mig_proto := lib/proto/mig_proto.c vmm/kvm/vcpu_state.c
FUZZ_EXTRA_capability := $(FUZZ_CAP_SRCS)
FUZZ_EXTRA_mmon_handler := $(filter-out $(call MAIN_SRC,hypervisor/mmon),$(wildcard hypervisor/mmon/*.c)) \
	lib/proto/mem_proto.c lib/client/mem_client.c lib/fabric/fabric.c lib/fabric/fabric_dl.c \
	$(FUZZ_CAP_SRCS)
FUZZ_EXTRA_smon_handler := hypervisor/smon/smon_handler.c hypervisor/smon/smon_auth.c \
	hypervisor/smon/smon_store.c hypervisor/smon/smon_file.c lib/proto/stor_proto.c \
	$(FUZZ_CAP_SRCS)
.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CODE_SRCS) $$(FUZZ_EXTRA_$$*) | deps
	@mkdir -p $(@D)
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
		-Wno-gnu-variable-sized-type-not-at-end \
		-I. -I/usr/include/libxml2 $^ -lxml2 -luuid -lgnutls -lpthread -ldl -o $@

fuzz: deps $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); n=$${n#fuzz_}; mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
			-artifact_prefix=$(BUILD)/fuzz/crash-$$n- \
			$(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# ---- tests -------------------------------------------------------------------------
# One prove run over everything; tests that need KVM run themselves inside the nested
# test bed when this machine has no usable /dev/kvm (tests/lib/kvm.sh). Two at a time (a
# test-bed VM keeps one core busy), the longest first (by prove's --timer in a full run) so that
# the two lanes end together.
# tests/lib/run-test runs each: a time limit, and nothing a test started outlives it.
SLOW_TESTS = tests/vmm/migration.t tests/vmm/network.t tests/vmm/remote-memory.t tests/vmm/net-device.t tests/vmm/network-isolation.t \
	tests/vmm/controlplane.t tests/vmm/mempool.t tests/vmm/linux-migration.t tests/vmm/rdma.t \
	tests/vmm/storage.t tests/host/fuzz.t tests/vmm/pause.t tests/vmm/linux-guest.t tests/host/soak.t \
	tests/vmm/guest-console.t tests/host/controld-ha.t tests/host/security-data.t tests/host/security.t \
	tests/vmm/pmon-vm.t tests/host/replication.t tests/host/mempool-ctl.t tests/host/caps-renewal.t
TEST_FILES = $(SLOW_TESTS) $(filter-out $(SLOW_TESTS),$(sort $(wildcard tests/vmm/*.t)) \
	$(sort $(wildcard tests/host/*.t))) $(UNIT_BINS)

test: deps $(RELEASE_BINS) $(ASAN_BINS) $(UNIT_BINS) $(GUEST_IMAGES) $(TEST_GUESTS) $(LINUX_IMAGES) \
	$(BUILD)/asan/bin/pager_bench $(BUILD)/asan/bin/mmon_probe $(BUILD)/asan/bin/smon_probe \
	$(BUILD)/asan/bin/smon_io $(BUILD)/asan/bin/cluster_probe $(BUILD)/asan/bin/vmm_ask \
	$(BUILD)/asan/bin/lego_clustersim \
	$(BUILD)/release/bin/vmm_ask $(BUILD)/asan/bin/mem_churn $(BUILD)/release/bin/mem_admin \
	$(BUILD)/asan/bin/mmon_attack $(BUILD)/asan/bin/smon_attack $(BUILD)/release/bin/conn_flood \
	$(BUILD)/release/bin/smon_io $(BUILD)/release/bin/vhost_uffd_probe $(FUZZ_BINS) \
	$(BUILD)/tools/promtool
	$(Q)rm -f $(BUILD)/test-logs/HARNESS $(BUILD)/test-logs/linux-guest/summary.txt; rc=0; \
	BUILD=$(abspath $(BUILD)) prove --exec $(abspath tests/lib/run-test) --timer -j2 \
		$(TEST_FILES) || rc=$$?; \
	if [ -s $(BUILD)/test-logs/linux-guest/summary.txt ]; then \
		echo "make test: the Linux guest's run (tests/vmm/linux-guest.t; its logs: $(BUILD)/test-logs/linux-guest/):"; \
		sed 's/^/  /' $(BUILD)/test-logs/linux-guest/summary.txt; \
	fi; \
	if [ -s $(BUILD)/test-logs/HARNESS ]; then \
		echo "make test: what tests/lib/run-test saw (failed checks, timeouts, processes left running):"; \
		sed 's/^/  /' $(BUILD)/test-logs/HARNESS; \
	fi; \
	exit $$rc

# promtool (tests/host/install.t checks the metrics page with it), from Debian's package
# without installing it.
$(BUILD)/tools/promtool: scripts/fetch-promtool.sh | deps
	$(Q)scripts/fetch-promtool.sh $@

# The soak test (tests/host/soak.t) run for SOAK_SECONDS instead of its bounded rounds: kills
# of memory servers and of lego-controld under a vNode with replication 2. Its seed is
# printed; SOAK_SEED=N replays a run. Its figures go to the bench "soak".
SOAK_SECONDS ?= 3600
soak: deps $(ASAN_BINS) $(BUILD)/asan/bin/mem_churn
	$(Q)BUILD=$(abspath $(BUILD)) SOAK_SECONDS=$(SOAK_SECONDS) $(if $(SOAK_SEED),SOAK_SEED=$(SOAK_SEED)) \
		LEGO_TEST_TIMEOUT=$$(($(SOAK_SECONDS) + 900)) \
		prove -v --exec $(abspath tests/lib/run-test) tests/host/soak.t

unit: deps $(UNIT_BINS)
	$(Q)prove --exec '' $(UNIT_BINS)

bench: deps $(RELEASE_BINS) $(BENCH_TOOLS) $(BUILD)/release/bin/vmm_ask $(BUILD)/release/bin/lru_replay \
	$(GUEST_IMAGES) $(BUILD)/release/bin/lego_clustersim \
	$(BENCH_GUESTS)
	$(Q)BUILD=$(abspath $(BUILD)) tests/bench/run-all.sh

demo: deps $(RELEASE_BINS) $(GUEST_IMAGES)
	$(Q)BUILD=$(abspath $(BUILD)) scripts/demo.sh

# scripts/install.sh says where each file goes; the Linux guest image is installed once made
# (make linux-image).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
install: deps $(RELEASE_BINS) $(GUEST_IMAGES)
	$(Q)BUILD=$(abspath $(BUILD)) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) BINDIR=$(BINDIR) \
		DATADIR=$(DATADIR) SYSCONFDIR=$(SYSCONFDIR) UNITDIR=$(UNITDIR) scripts/install.sh

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(FORMAT_SRCS)

check-format:
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
