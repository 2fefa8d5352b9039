# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# mmlock: one Makefile. `make`, `make demo`, `make test`, `make bench`,
# `make ARCH=arm64 STATIC=1`, `make vmtest`, `make ab`, `V=1` for verbose,
# `make SAN=1` (ASan + UBSan userspace in build/<arch>-san), `make fuzz`, `make soak`,
# `make fleet` (1,000 recordings through DuckDB and ClickHouse).

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
STATIC ?=
SAN ?=
V ?=
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ifeq ($(ARCH),x86)
CROSS ?=
PKG_ARCH := amd64
else ifeq ($(ARCH),arm64)
CROSS ?= $(if $(filter aarch64,$(shell uname -m)),,aarch64-linux-gnu-)
PKG_ARCH := arm64
else
$(error ARCH must be x86 or arm64, not '$(ARCH)')
endif

OUT := build/$(ARCH)$(if $(STATIC),-static)$(if $(SAN),-san)
CC := $(CROSS)gcc
CLANG ?= clang
BPFTOOL ?= bpftool
VMLINUX_H ?= vmlinux/$(ARCH)/vmlinux.h
PKG_CONFIG ?= $(if $(CROSS),PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config,pkg-config)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -MMD -MP \
	  -Iinclude -Isrc -I$(OUT) -DMMLOCK_VERSION='"$(VERSION)"'
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -Wall -Werror -Iinclude -Ibpf -I$(dir $(VMLINUX_H))

ifeq ($(SAN),1)
# Any finding is fatal (exit code, not just a line): the tests then fail.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif

ifeq ($(STATIC),1)
LDFLAGS += -static
# -lzstd: newer elfutils' libelf.a needs it and pkg-config may not say so.
LIBS := $(shell $(PKG_CONFIG) --static --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) -lzstd
else
LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
endif
LIBS += -lm -lpthread

# globals first: libbpf 1.1's linker misplaces maps that are extern before defined.
# mmprobes next: its fentry programs load first, so a kernel that refuses
# fentry says so before anything else was verified for nothing.
BPF_FIRST := bpf/globals.bpf.c bpf/mmprobes.bpf.c
BPF_SRCS := $(BPF_FIRST) $(filter-out $(BPF_FIRST),$(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
# src/ by floor, data flowing one way: record/ (the kernel side, the only
# user of the BPF skeleton) -> model/ -> output/, all over lib/; cmd/ and
# main.c use them all. A file includes headers of its own floor or lower.
src_objs = $(patsubst src/%.c,$(OUT)/src/%.o,$(wildcard $(addsuffix /*.c,$(1))))
CORE_OBJS := $(call src_objs,src/lib src/model src/output)
RECORD_OBJS := $(call src_objs,src/record)
CMD_OBJS := $(call src_objs,src/cmd src)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(TEST_SRCS))
TOOL_SRCS := $(wildcard tools/gcsim/*.c)
TOOL_OBJS := $(patsubst tools/gcsim/%.c,$(OUT)/gcsim-obj/%.o,$(TOOL_SRCS))

BENCH_TOOLS := $(OUT)/bench/hookfloor $(OUT)/bench/syscall_loop

# libFuzzer target for the JSON and recording readers (clang only).
FUZZ_OUT := build/$(ARCH)-fuzz
FUZZ_SRCS := $(wildcard src/lib/*.c src/model/*.c) src/output/recording_json.c src/output/report.c \
	src/output/report_chains.c
FUZZ_SECONDS ?= 600
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	      -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc \
	      -DMMLOCK_VERSION='"$(VERSION)"'
SOAK_SECONDS ?= 1800
.PRECIOUS: $(OUT)/bench/%.bpf.o $(OUT)/bench/%.skel.h

.DELETE_ON_ERROR:
.PHONY: all deps demo test bench vmtest clean fuzz soak

all: $(OUT)/mmlock $(OUT)/gcsim $(TEST_BINS)

deps:
	$(Q)tools/install-deps.sh $(if $(filter arm64,$(ARCH)),--arm64)

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/mmlock.bpf.o: $(BPF_OBJS) Makefile
	$(call msg,LINK-BPF,$@)
	$(Q)$(BPFTOOL) gen object $@ $(BPF_OBJS)

$(OUT)/mmlock.skel.h: $(OUT)/mmlock.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mmlock_bpf > $@

# Only record/ waits for the skeleton: the unit tests' library (lib, model,
# output) builds without clang -target bpf and bpftool.
$(RECORD_OBJS): $(OUT)/mmlock.skel.h

$(OUT)/src/%.o: src/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/libmmcore.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(CROSS)ar rcs $@ $^

$(OUT)/mmlock: $(CMD_OBJS) $(RECORD_OBJS) $(OUT)/libmmcore.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(OUT)/gcsim-obj/%.o: tools/gcsim/%.c | $(OUT)/gcsim-obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itools/gcsim -c $< -o $@

$(OUT)/gcsim: $(TOOL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -lm -lpthread -o $@

$(OUT)/bench/%.bpf.o: bench/%.bpf.c $(VMLINUX_H) | $(OUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/bench/%.skel.h: $(OUT)/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUT)/bench/%: bench/%.c $(OUT)/bench/%.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUT)/bench $< $(LDFLAGS) $(LIBS) -o $@

# The held-out truth workload (tests/heldout/, tools/heldout.sh): no BPF.
$(OUT)/heldout/uffd_churn: tests/heldout/uffd_churn.c tools/gcsim/uffd_compat.h | $(OUT)/heldout
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itools/gcsim $< $(LDFLAGS) -lpthread -o $@

$(OUT)/heldout:
	$(Q)mkdir -p $@

# No BPF: what a tracer costs processes it does not trace.
$(OUT)/bench/syscall_loop: bench/syscall_loop.c | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# The VM lab's second BPF user of the contention tracepoints (tests/peer/,
# tools/vm/guest-stress.sh): its own skeleton, never linked into mmlock.
$(OUT)/peer/%.bpf.o: tests/peer/%.bpf.c $(VMLINUX_H) | $(OUT)/peer
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/peer/%.skel.h: $(OUT)/peer/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUT)/peer/contention_peer: tests/peer/contention_peer.c $(OUT)/peer/contention_peer.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUT)/peer $< $(LDFLAGS) $(LIBS) -o $@

.PRECIOUS: $(OUT)/peer/%.bpf.o $(OUT)/peer/%.skel.h
$(OUT)/peer:
	$(Q)mkdir -p $@

# VM-lab safety runs: tools/vm/vmstress.sh (knobs VMSTRESS_ITERS, VMSTRESS_KERNELS,
# VMSTRESS_MODES, VMSTRESS_HOST_LOAD; see docs/vm-lab.md).
.PHONY: vmstress
vmstress: deps
	$(Q)tools/vm/vmstress.sh

$(OUT)/tests/%: tests/unit/%.c $(OUT)/libmmcore.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(OUT)/libmmcore.a $(LDFLAGS) $(LIBS) -o $@

$(FUZZ_OUT)/fuzz_recording: tests/fuzz/fuzz_recording.c $(FUZZ_SRCS) $(wildcard src/*/*.h include/*.h)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(FUZZ_OUT)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(filter %.c,$^) -lm -o $@

$(OUT)/bpf $(OUT)/tests $(OUT)/gcsim-obj $(OUT)/bench:
	$(Q)mkdir -p $@

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(OUT)

test: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_TOOLS) $(OUT)/heldout/uffd_churn
	$(Q)$(MAKE) --no-print-directory SAN=1 build/$(ARCH)-san/mmlock \
		$(patsubst $(OUT)/%,build/$(ARCH)-san/%,$(TEST_BINS))
	$(Q)$(MAKE) --no-print-directory $(FUZZ_OUT)/fuzz_recording
	$(Q)tests/run.sh $(OUT)

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_TOOLS)
	$(Q)bench/run.sh $(OUT)

# New inputs go to build/, never into the checked-in corpus.
fuzz: $(FUZZ_OUT)/fuzz_recording
	$(Q)mkdir -p $(FUZZ_OUT)/corpus
	$(Q)$(FUZZ_OUT)/fuzz_recording -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-dict=tests/fuzz/recording.dict $(FUZZ_OUT)/corpus tests/fuzz/corpus

soak: all
	$(Q)SOAK_SECONDS=$(SOAK_SECONDS) tools/soak.sh $(OUT)

# The fleet engines at scale (docs/fleet.md): 500 devices x before/after,
# 1,000 recordings exported (at most 60 s) and judged by DuckDB and ClickHouse.
.PHONY: fleet
fleet: deps
	$(Q)tools/install-deps.sh --fleet
	$(Q)$(MAKE) --no-print-directory all
	$(Q)OUT=$(abspath $(OUT)) TOP=$(CURDIR) FLEET_DEVICES=$(or $(FLEET_DEVICES),500) \
		FLEET_MAX_EXPORT_S=60 FLEET_SEED=$(or $(FLEET_SEED),2026) \
		bash tests/integration/fleet.sh | tee $(OUT)/fleet.log
	$(Q)! grep -E '^(FAIL|SKIP): ' $(OUT)/fleet.log

# Held-out truth campaign beside perf lock (HELDOUT_RUNS, default 3).
.PHONY: heldout
heldout: deps
	$(Q)$(MAKE) --no-print-directory all $(OUT)/heldout/uffd_churn
	$(Q)tools/heldout.sh $(OUT)

vmtest: deps
	$(Q)tools/vm/vmtest.sh

# Verdicts over repeated runs on two VM-lab kernels (AB_RUNS, AB_SECONDS, AB_DIR;
# tools/vm/ab.sh, docs/verify.md). Slow (qemu TCG): not part of `make test`.
.PHONY: ab
ab: deps
	$(Q)tools/vm/ab.sh

clean:
	$(Q)rm -rf build

-include $(wildcard $(OUT)/src/*.d $(OUT)/src/*/*.d $(OUT)/bpf/*.d $(OUT)/tests/*.d $(OUT)/gcsim-obj/*.d $(OUT)/bench/*.d)
-include $(wildcard $(OUT)/peer/*.d $(OUT)/heldout/*.d)
