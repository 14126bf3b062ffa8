# SPDX-License-Identifier: Apache-2.0
#
# FlowLens build. `make help` lists the targets; V=1 shows full commands.
# Every build product lives under $(OUTPUT), except bpf/flowlens.bpf.o, which
# stays next to its source so `xdp-loader load IF bpf/flowlens.bpf.o` works.

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Debian packages the build, the tests and the demo need. Later features
# append theirs here; `make deps` installs whatever is missing.
DEB_BUILD := clang llvm gcc make pkg-config libbpf-dev libxdp-dev libelf-dev \
	zlib1g-dev libjson-c-dev uthash-dev bpftool xdp-tools \
	libpcap-dev libnl-3-dev libnl-route-3-dev libnftables-dev libndpi-dev \
	libmicrohttpd-dev libspandsp-dev libbcg729-dev libopus-dev libspeexdsp-dev \
	libpocketsphinx-dev libsphinxbase-dev
DEB_TEST := tcpdump iproute2 iputils-ping netcat-openbsd procps psmisc util-linux jq \
	python3 ethtool nftables conntrack curl libndpi-bin prometheus nfdump pmacct tshark \
	gobgpd frr sip-tester sngrep espeak-ng sox pocketsphinx-en-us
DEB_PACKAGES := $(sort $(DEB_BUILD) $(DEB_TEST))

# pkg-config module -> Debian package that provides it.
PKG_MODULES := libbpf:libbpf-dev libxdp:libxdp-dev json-c:libjson-c-dev \
	libpcap:libpcap-dev libnl-route-3.0:libnl-route-3-dev \
	libnftables:libnftables-dev libndpi:libndpi-dev \
	libmicrohttpd:libmicrohttpd-dev spandsp:libspandsp-dev opus:libopus-dev \
	speexdsp:libspeexdsp-dev pocketsphinx:libpocketsphinx-dev \
	sphinxbase:libsphinxbase-dev

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Wall -Werror -Iheaders -Iinclude -Ibpf

PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags libbpf libxdp json-c 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs libbpf libxdp json-c 2>/dev/null)
CFLAGS ?= -g -O2
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror \
	-Wmissing-prototypes -D_GNU_SOURCE -Iinclude -Iuser/lib -I$(OUTPUT) \
	$(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -lelf -lz -lpthread -lm
# flowlensd alone drives nftables (the SYN proxy's table), runs nDPI in its
# workers and reads captures (flowlensd replay).
DAEMON_CFLAGS = $(shell $(PKG_CONFIG) --cflags libnftables libndpi libpcap libmicrohttpd 2>/dev/null)
DAEMON_LIBS = $(shell $(PKG_CONFIG) --libs libnftables libndpi libpcap libmicrohttpd 2>/dev/null)

BPF_OBJ := bpf/flowlens.bpf.o
TC_OBJ := bpf/flowlens_tc.bpf.o
BPF_SRCS := $(wildcard bpf/*.c)
BPF_HDRS := $(wildcard bpf/*.h) $(wildcard include/flowlens/*.h)
SKEL := $(OUTPUT)/flowlens.skel.h
TC_SKEL := $(OUTPUT)/flowlens_tc.skel.h

LIB_SRCS := $(wildcard user/lib/*.c)
OBJ := $(OUTPUT)/obj
LIB_OBJS := $(patsubst user/%.c,$(OBJ)/%.o,$(LIB_SRCS))
DAEMON_OBJS := $(patsubst user/%.c,$(OBJ)/%.o,$(wildcard user/flowlensd/*.c))
FLCTL_OBJS := $(patsubst user/%.c,$(OBJ)/%.o,$(wildcard user/flctl/*.c))
# user/audio/: RTP audio to PCM (spam scoring), with the codecs' libraries
# from Debian; linked into flowlensd and the unit tests only.
AUDIO_OBJS := $(patsubst user/%.c,$(OBJ)/%.o,$(wildcard user/audio/*.c))
AUDIO_CFLAGS = -Iuser/audio $(shell $(PKG_CONFIG) --cflags spandsp opus speexdsp libbcg729 \
	pocketsphinx 2>/dev/null)
# not pocketsphinx's -lsphinxad: the audio devices are not ours to open
AUDIO_LIBS = $(shell $(PKG_CONFIG) --libs spandsp opus speexdsp libbcg729 2>/dev/null) \
	-lpocketsphinx -lsphinxbase
USER_HDRS := $(wildcard user/*/*.h) $(wildcard include/flowlens/*.h)

TEST_SRCS := $(wildcard selftests/*.c) $(wildcard selftests/prog_tests/*.c)
TEST_OBJS := $(patsubst selftests/%.c,$(OBJ)/selftests/%.o,$(TEST_SRCS))
TEST_PROGS_BPF := $(patsubst selftests/progs/%.c,$(OUTPUT)/progs/%.o,\
	$(wildcard selftests/progs/*.bpf.c))

# selftests/bench/: each file is a program of its own (make bench), linked
# with the packet builder and user/lib: prog_cost, rule_bench, ...
BENCH_SRCS := $(wildcard selftests/bench/*.c)
BENCH_BINS := $(patsubst selftests/bench/%.c,$(OUTPUT)/%,$(BENCH_SRCS))
# selftests/tools/: helpers the tests run (rtp_encode: speech to an RTP
# capture), linked with the audio codecs and libpcap.
TOOL_BINS := $(patsubst selftests/tools/%.c,$(OUTPUT)/%,$(wildcard selftests/tools/*.c))

# flgen, the traffic generator: its own BPF objects and skeletons, and
# libpcap (replay) and libnl-route (MACs, routes, interface counters).
FLGEN_OBJS := $(patsubst user/%.c,$(OBJ)/%.o,\
	$(filter-out %.bpf.c,$(wildcard user/flgen/*.c)))
FLGEN_BPF_OBJS := $(if $(FLGEN_OBJS),$(OUTPUT)/flgen.bpf.o $(OUTPUT)/flgen_sink.bpf.o)
FLGEN_SKELS := $(FLGEN_BPF_OBJS:.bpf.o=.skel.h)
FLGEN_CFLAGS = $(shell $(PKG_CONFIG) --cflags libpcap libnl-route-3.0 2>/dev/null)
FLGEN_LIBS = $(shell $(PKG_CONFIG) --libs libpcap libnl-route-3.0 2>/dev/null)

# Only what has sources (so every commit in the history builds).
BINS := $(if $(DAEMON_OBJS),$(OUTPUT)/flowlensd) $(if $(FLCTL_OBJS),$(OUTPUT)/flctl) \
	$(if $(TEST_OBJS),$(OUTPUT)/test_progs) $(BENCH_BINS) $(TOOL_BINS) \
	$(if $(FLGEN_OBJS),$(OUTPUT)/flgen)

.PHONY: all deps check-deps vmlinux test unit demo bench stages clean install help format asan FORCE
.DEFAULT_GOAL := all

all: check-deps $(BPF_OBJ) $(SKEL) $(TC_SKEL) $(BINS) $(TEST_PROGS_BPF)

help:
	@echo 'Targets:'
	@echo '  all      build bpf/flowlens.bpf.o, its skeleton, flowlensd, flctl, flgen and the tests (default)'
	@echo '  deps     install the Debian packages FlowLens needs (idempotent, root)'
	@echo '  test     deps + build, then run every unit and end-to-end test, in parallel'
	@echo '  unit     run only the BPF_PROG_TEST_RUN unit tests'
	@echo '  asan     flowlensd with AddressSanitizer and UBSan, in $(OUTPUT)/asan (part of make test)'
	@echo '  demo     namespace lab with traffic and one heavy source; shows flctl output'
	@echo '  bench    forwarding rate vs the kernel, per-packet cost vs XDP_PASS and a bare FIB router, each stage'"'"'s cost; records BENCHMARKS.md'
	@echo '  stages   copies of the XDP program with one stage left out each, for build/stage_cost (make bench)'
	@echo '  vmlinux  regenerate headers/vmlinux.h from /sys/kernel/btf/vmlinux'
	@echo '  install  install flowlensd, flctl and flgen (the traffic generator) under $(PREFIX)'
	@echo '  format   run clang-format over the sources'
	@echo '  clean    remove build products'
	@echo 'Variables: V=1 (show commands), OUTPUT=dir (default build), TESTS="name ..." (make test subset),'
	@echo '           TEST_JOBS=N (test scripts run at once, each in its own namespaces; default 3),'
	@echo '           BENCH_BASE=commit (the program make bench compares the whole one with)'

deps:
	$(Q)scripts/deps.sh $(DEB_PACKAGES)

# A missing library is named along with the package that provides it.
check-deps:
	@for m in $(PKG_MODULES); do \
		mod=$${m%%:*}; pkg=$${m#*:}; \
		$(PKG_CONFIG) --exists $$mod || { \
			echo "error: pkg-config cannot find $$mod: install $$pkg (or run 'make deps')" >&2; \
			exit 1; }; \
	done
	@command -v $(CLANG) >/dev/null || { echo "error: $(CLANG) not found: install clang (or run 'make deps')" >&2; exit 1; }
	@command -v $(BPFTOOL) >/dev/null || { echo "error: $(BPFTOOL) not found: install bpftool (or run 'make deps')" >&2; exit 1; }

vmlinux:
	$(call msg,GEN,headers/vmlinux.h)
	$(Q){ echo '/* SPDX-License-Identifier: GPL-2.0 */'; \
	  echo '/* Generated by `make vmlinux` (bpftool btf dump file /sys/kernel/btf/vmlinux format c). */'; \
	  $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c; } > headers/vmlinux.h.tmp
	$(Q)mv headers/vmlinux.h.tmp headers/vmlinux.h

$(OUTPUT) $(OBJ)/lib $(OBJ)/flowlensd $(OBJ)/flctl $(OBJ)/audio \
$(OBJ)/selftests/prog_tests $(OBJ)/selftests/bench $(OBJ)/selftests/tools $(OUTPUT)/progs $(OBJ)/flgen:
	$(Q)mkdir -p $@

bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) headers/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/progs/%.bpf.o: selftests/progs/%.bpf.c $(BPF_HDRS) $(wildcard selftests/progs/*.h) | $(OUTPUT)/progs
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ) Makefile | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name flowlens_bpf > $@.tmp 2> $@.log || \
		{ cat $@.log; rm -f $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

$(TC_SKEL): $(TC_OBJ) Makefile | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name flowlens_tc_bpf > $@.tmp 2> $@.log || \
		{ cat $@.log; rm -f $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

$(FLGEN_BPF_OBJS): $(OUTPUT)/%.bpf.o: user/flgen/%.bpf.c user/flgen/common_kern_user.h \
		headers/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Iuser/flgen -c $< -o $@

$(FLGEN_SKELS): $(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o Makefile
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp 2> $@.log || \
		{ cat $@.log; rm -f $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

$(OBJ)/flgen/%.o: user/flgen/%.c $(USER_HDRS) $(FLGEN_SKELS) | $(OBJ)/flgen
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(FLGEN_CFLAGS) -c $< -o $@

$(OUTPUT)/flgen: $(FLGEN_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(FLGEN_LIBS) $(LDLIBS) -o $@

$(OBJ)/%.o: user/%.c $(USER_HDRS) $(SKEL) $(TC_SKEL) | $(OBJ)/lib $(OBJ)/flowlensd $(OBJ)/flctl $(OBJ)/audio
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(DAEMON_OBJS): CFLAGS += $(DAEMON_CFLAGS) $(AUDIO_CFLAGS)
$(AUDIO_OBJS): CFLAGS += $(AUDIO_CFLAGS)

$(OUTPUT)/flowlensd: $(DAEMON_OBJS) $(AUDIO_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(DAEMON_LIBS) $(AUDIO_LIBS) $(LDLIBS) -o $@

$(OUTPUT)/flctl: $(FLCTL_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Unit tests: every `void test_<name>(void)` in selftests/prog_tests/ is
# found here and listed for the runner, as the kernel's test_progs does.
# Regenerated on every build (a deleted test file must drop out too), but
# only replaced when the list changed, so nothing recompiles needlessly.
$(OBJ)/selftests/tests.h: FORCE | $(OBJ)/selftests/prog_tests
	$(Q)sed -n 's/^void test_\([a-z0-9_]*\)(void)$$/DEFINE_TEST(\1)/p' \
		$(sort $(wildcard selftests/prog_tests/*.c)) > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; \
		$(if $(Q),printf '  %-8s %s\n' GEN $@;) fi

$(OBJ)/selftests/%.o: selftests/%.c $(wildcard selftests/*.h selftests/progs/*.h) $(USER_HDRS) $(SKEL) \
		$(OBJ)/selftests/tests.h | $(OBJ)/selftests/prog_tests $(OBJ)/selftests/bench $(OBJ)/selftests/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests -I$(OBJ)/selftests -c $< -o $@

$(TEST_OBJS): CFLAGS += $(AUDIO_CFLAGS)
$(OBJ)/selftests/tools/%.o: CFLAGS += $(AUDIO_CFLAGS)

$(TOOL_BINS): $(OUTPUT)/%: $(OBJ)/selftests/tools/%.o $(OBJ)/selftests/audio_compare.o \
		$(AUDIO_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(AUDIO_LIBS) $(FLGEN_LIBS) $(LDLIBS) -o $@

# and flowlensd's policy matcher, pure (user/flowlensd/policy_match.c)
$(OBJ)/selftests/prog_tests/policy_match.o: CFLAGS += -Iuser/flowlensd
$(OUTPUT)/test_progs: $(TEST_OBJS) $(OBJ)/flowlensd/policy_match.o $(AUDIO_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(AUDIO_LIBS) $(LDLIBS) -o $@

$(BENCH_BINS): $(OUTPUT)/%: $(OBJ)/selftests/bench/%.o $(OBJ)/selftests/pkt.o $(OBJ)/selftests/bench_run.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

test: deps
	$(Q)$(MAKE) --no-print-directory all asan
	$(Q)selftests/run.sh $(if $(TEST_JOBS),-j $(TEST_JOBS)) $(TESTS)

# flowlensd with AddressSanitizer and UBSan, in its own output folder
# (selftests/test_replay.sh runs every capture through it). CFLAGS and
# LDFLAGS go through the environment so the Makefile's += still apply.
ASAN_OUTPUT ?= $(OUTPUT)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan: check-deps $(BPF_OBJ) $(TC_OBJ)
	$(Q)CFLAGS="-g -O1 $(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		$(MAKE) --no-print-directory OUTPUT=$(ASAN_OUTPUT) $(ASAN_OUTPUT)/flowlensd

unit: all
	$(Q)selftests/run.sh unit

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# make bench's stage table: copies of the XDP program, each with one stage
# compiled out (bpf/config.h, FL_BENCH_OFF), and one with them all out
# (parse only). The names are the stage_cost table's rows.
STAGE_BITS := counters:0x01 account:0x02 allow:0x04 rules:0x08 synproxy:0x10 \
	flowcache:0x20 forward:0x40 voip:0x80 all:0xff
STAGE_OBJS := $(foreach b,$(STAGE_BITS),$(OUTPUT)/stages/flowlens-no-$(firstword $(subst :, ,$(b))).bpf.o)
stage_mask = $(lastword $(subst :, ,$(filter $(1):%,$(STAGE_BITS))))

$(OUTPUT)/stages:
	$(Q)mkdir -p $@

$(OUTPUT)/stages/flowlens-no-%.bpf.o: bpf/flowlens.bpf.c $(BPF_HDRS) headers/vmlinux.h | $(OUTPUT)/stages
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DFL_BENCH_OFF=$(call stage_mask,$*) -c $< -o $@

stages: $(STAGE_OBJS)

# The program as it was before the datapath diet (issue 16), built from
# git, for make bench's side-by-side rows: the common packet's cost is held
# to half of this one's, measured in the same run.
BENCH_BASE ?= 841e435
BASE_DIR := $(OUTPUT)/stages/base
$(OUTPUT)/stages/flowlens-base.bpf.o: | $(OUTPUT)/stages
	$(call msg,BPF,$@ (from $(BENCH_BASE)))
	$(Q)rm -rf $(BASE_DIR) && mkdir -p $(BASE_DIR)
	$(Q)git -C $(CURDIR) archive $(BENCH_BASE) bpf include headers | tar -x -C $(BASE_DIR)
	$(Q)$(CLANG) $(filter-out -I%,$(BPF_CFLAGS)) -I$(BASE_DIR)/headers \
		-I$(BASE_DIR)/include -I$(BASE_DIR)/bpf \
		-c $(BASE_DIR)/bpf/flowlens.bpf.c -o $@

bench: deps
	$(Q)$(MAKE) --no-print-directory all stages $(OUTPUT)/stages/flowlens-base.bpf.o
	$(Q)BENCH_BASE=$(BENCH_BASE) scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(OUTPUT)/flowlensd $(OUTPUT)/flctl $(OUTPUT)/flgen $(DESTDIR)$(PREFIX)/sbin/

format:
	clang-format -i $(wildcard bpf/*.c bpf/*.h include/flowlens/*.h user/*/*.c user/*/*.h selftests/*.c selftests/*.h selftests/prog_tests/*.c)

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) bpf/*.bpf.o
FORCE:
