# ptlab: the kernel's page-table lifetime protocol, run for real in user space.
#
#   make              build libptlab.a and the ptlab command (a missing
#                     Debian package is named, with the command that
#                     installs it: scripts/build-deps.sh)
#   make run          install what is missing, build, run the main job
#   make check        install what is missing, build, check an install,
#                     run the quick tier of the tests (a few minutes)
#   make check-full   the same with every test: the quick tier and the
#                     full one (every cell, the 3-walker model, the
#                     fuzzers' full runs, soaks, the report in a browser)
#   make mutants      each named mutation of the protocol
#                     (tests/mutants.txt) applied to a copy of the tree,
#                     which the quick tier must then fail (3 to 7 min)
#   TESTFLAGS=...     options for build/ptlab-tests (-j N, --tap,
#                     --fail-fast, -v, test names: build/ptlab-tests --help)
#   make bench        run the benchmarks (never part of make check)
#   make install      install the command, the library, its headers,
#                     ptlab.pc and the man page (PREFIX=/usr/local, DESTDIR)
#   make uninstall    remove them again
#   make installcheck build and run examples/ against the installed copy
#   make CC=clang     build with clang (into build-clang/)
#   make check SAN=address   ASan + UBSan (into build-address/)
#   make check SAN=thread    TSan (into build-thread/)
#   make fuzz         the API fuzzer under libFuzzer for FUZZ_SECONDS
#                     (default 300) on FUZZ_PROFILE (default x86)
#   WERROR=1          turn warnings into errors (.ci/run sets it; a
#                     plain make and the Debian build only warn, so
#                     that a newer compiler's new warning stops no one)
#   V=1               print every command in full (default: one short
#                     line per step, "  CC      src/gup.o", as kbuild does)

CC ?= gcc
SAN ?=

# Quiet output, as kbuild's: $(Q) hides a command, $(call say,WHAT,FILE)
# prints the short line that stands for it. V=1 shows the commands
# instead.
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-8s%s\n' '$(1)' '$(2)'
endif

ifeq ($(origin CC),default)
CC := gcc
endif

CCNAME := $(notdir $(firstword $(CC)))
BUILD_SUFFIX := $(if $(filter-out gcc cc,$(CCNAME)),-$(CCNAME))$(if $(SAN),-$(SAN))$(if $(FUZZ),-fuzz)
BUILD ?= build$(BUILD_SUFFIX)

ifneq ($(filter-out address thread,$(SAN)),)
$(error SAN=$(SAN): allowed values are address, thread, or empty)
endif

CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
# _LGPL_SOURCE: liburcu's read-side primitives inline (they sit on the
# interrupts-off fast path); ptlab's MIT license is LGPL-compatible. Not
# under TSan: liburcu's own benign races would then be instrumented.
ifneq ($(SAN),thread)
CPPFLAGS += -D_LGPL_SOURCE
endif
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -pthread -MMD -MP
# -Werror is opt-in, as liburcu's --enable-Werror: CI builds with it, a
# developer's make and the Debian package's build warn only.
ifeq ($(WERROR),1)
CFLAGS += -Werror
else ifneq ($(WERROR),)
$(error WERROR=$(WERROR): allowed values are 1 or empty)
endif
# libjansson: the command reads and writes JSON documents with it (the
# library does not use it).
LDLIBS += -lurcu-memb -lurcu-common -ljansson -lm -pthread

ifeq ($(SAN),address)
# Recoverable ASan so that the lab can report a walker touching a poisoned
# freed table as a finding; unexpected reports still fail (see src/lab/asan.c).
CFLAGS += -O1 -fsanitize=address,undefined -fsanitize-recover=address \
	  -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
CPPFLAGS += -DPTLAB_DEBUG=1
endif
# FUZZ=1: the library instrumented for libFuzzer's coverage (make fuzz).
ifeq ($(FUZZ),1)
CFLAGS += -fsanitize=fuzzer-no-link
endif
ifeq ($(SAN),thread)
# gcc warns that TSan does not model atomic_thread_fence(); ptlab's fences
# only add ordering on top of atomics TSan does see.
CFLAGS += -O1 -fsanitize=thread -fno-omit-frame-pointer \
	  $(if $(filter gcc cc,$(CCNAME)),-Wno-tsan)
LDFLAGS += -fsanitize=thread
CPPFLAGS += -DPTLAB_DEBUG=1
endif

# The version, from the one place it is written.
VERSION := $(shell sed -n 's/^\#define PTLAB_VERSION "\(.*\)"$$/\1/p' include/ptlab/version.h)
ifeq ($(VERSION),)
$(error no PTLAB_VERSION in include/ptlab/version.h)
endif

LIB_SRCS := $(sort $(wildcard src/*.c src/*/*.c))
CLI_SRCS := $(sort $(wildcard cli/*.c cli/*/*.c bench/*.c))
TEST_SRCS := $(sort $(wildcard tests/*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)

LIB := $(BUILD)/libptlab.a
PTLAB := $(BUILD)/ptlab
TESTS := $(BUILD)/ptlab-tests
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLES := $(EXAMPLE_SRCS:%.c=$(BUILD)/%)

.PHONY: all run check check-full test-programs bench deps deps-check deps-check-full clean install uninstall \
	installcheck check-install fuzz mutants
all: $(LIB) $(PTLAB)

# Objects depend on the flags they were built with: a change rebuilds.
FLAGS_STAMP := $(BUILD)/flags
$(shell mkdir -p $(BUILD); echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' | \
	cmp -s - $(FLAGS_STAMP) || echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' > $(FLAGS_STAMP))

# Before the first object of a build directory: the compiler and the
# headers are there, or the missing Debian packages are named with the
# command that installs them (scripts/build-deps.sh), not a compiler error.
DEPS_OK := $(BUILD)/deps-ok
$(DEPS_OK):
	$(Q)CC='$(CC)' CPPFLAGS='$(CPPFLAGS)' scripts/build-deps.sh
	@mkdir -p $(dir $@) && touch $@
$(DEPS_OK)-tests: | $(DEPS_OK)
	$(Q)CC='$(CC)' CPPFLAGS='$(CPPFLAGS)' scripts/build-deps.sh tests
	@touch $@
$(LIB_OBJS) $(CLI_OBJS): | $(DEPS_OK)
$(TEST_OBJS): | $(DEPS_OK)-tests

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$(<:.c=.o))
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# src/model/model.c embeds the Spin model with .incbin, which -MMD cannot see.
$(BUILD)/obj/src/model/model.o: model/ptlab.pml
# cli/report.c embeds the report's style and script the same way.
$(BUILD)/obj/cli/report.o: report/report.css report/report.js

# The command's own helpers (cli/util/: options, JSON writing) are not
# the library's: cli/ and bench/ find them as "util/...".
$(CLI_OBJS): CPPFLAGS += -Icli

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# The benchmark compares with liburcu's qsbr flavor too (bench/qsbr.c).
$(PTLAB): $(CLI_OBJS) $(LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJS) $(LIB) -lurcu-qsbr $(LDLIBS) -o $@

# The tests also decode a PNG (the browser's screenshot of the report).
$(TESTS): $(TEST_OBJS) $(LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(TEST_OBJS) $(LIB) $(LDLIBS) -lpng -o $@

# The examples see the public headers only, as a program of its own does.
$(BUILD)/examples/%: examples/%.c $(LIB) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) -Iinclude $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# Debian packages the build, the tests and the model need; installed with
# apt-get when missing (scripts/deps.sh says what it does and why).
deps:
	@scripts/deps.sh $(CCNAME)

deps-check:
	@scripts/deps.sh $(CCNAME) check

deps-check-full:
	@scripts/deps.sh $(CCNAME) check-full

# The two oracles on the full matrix (seven scenarios, every profile and
# fix setting, the collapse scenarios with each collapse-table
# generation, retract with each retract generation), then one screen:
# the grid of every cell's verdicts (ptlab report --grid), the totals
# and where the full outputs are; it fails when either oracle did. The
# per-cell lines and every counterexample go to files (RUN_OUT), not to
# the terminal, which shows the matrix's progress instead; the build's
# own lines go to a log unless it fails. The model runs beside the
# matrix, niced: the matrix's cells mostly sleep (its walkers wait in
# their race windows), and the model's compiles fill those gaps without
# taking a CPU from a cell that wants one. The matrix runs MATRIX_JOBS
# cells at once, each in a process of its own: a cell mostly waits, so
# four share two cores without starving each other of evidence (a cell
# short of it retries with twice the budget).
GENERATIONS := --collapse-table reuse,zap-rcu,fresh --retract free,defer
MATRIX_JOBS ?= 4
REPORT := $(BUILD)/report.html
RUN_OUT := $(BUILD)/matrix.txt $(BUILD)/model.txt
run: deps
	@$(MAKE) --no-print-directory all >$(BUILD)/build.txt 2>&1 || \
		{ cat $(BUILD)/build.txt; exit 1; }
	@status=0; start=$$(date +%s); \
	nice -n 19 $(PTLAB) model $(GENERATIONS) --json $(BUILD)/model.json \
		>$(BUILD)/model.txt 2>&1 & model=$$!; \
	$(PTLAB) matrix $(GENERATIONS) --jobs $(MATRIX_JOBS) --json $(BUILD)/matrix.json \
		--no-report --progress >$(BUILD)/matrix.txt || status=1; \
	kill -0 $$model 2>/dev/null && echo "matrix done; the model is still running"; \
	wait $$model || status=1; \
	$(PTLAB) report --grid --from $(BUILD)/matrix.json --model $(BUILD)/model.json \
		-o $(abspath $(REPORT)) || status=1; \
	echo "per-cell lines (the model's with every counterexample): $(RUN_OUT)"; \
	echo "make run: $$(( $$(date +%s) - start )) s, $$([ $$status = 0 ] && echo passed || echo FAILED)"; \
	exit $$status

# What the tests run: the command, the test binary and the examples
# (debian/rules builds them too, and runs the quick tier).
test-programs: all $(TESTS) $(EXAMPLES)

# The tests say their tier where they are defined (tests/harness.h);
# build/ptlab-tests runs them as many at once as there are CPUs, each in
# a process of its own, and its last line is "N passed, N failed". The
# build runs as many jobs unless make was given a -j of its own.
BUILD_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))
TESTFLAGS ?=
check: TIER := quick
check: deps-check
check-full: TIER := all
check-full: deps-check-full
check check-full:
	@$(MAKE) --no-print-directory $(BUILD_JOBS) test-programs
	@$(MAKE) --no-print-directory check-install
	$(call say,TEST,$(TESTS) --tier $(TIER))
	$(Q)$(TESTS) --ptlab $(PTLAB) --tier $(TIER) $(TESTFLAGS)

# Mutation testing: scripts/mutants.sh copies the tree and its build
# for each mutation of tests/mutants.txt, rebuilds what the mutation
# touched and runs the quick tier, which must fail; its last line is
# "mutants: N caught, M survived", and it fails unless every mutant was
# caught. CC and SAN go with it: the copies build as this build did.
mutants: deps-check
	@$(MAKE) --no-print-directory $(BUILD_JOBS) test-programs
	$(Q)CC='$(CC)' SAN='$(SAN)' scripts/mutants.sh --build $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	$(PTLAB) bench

clean:
	rm -rf build build-*

# The API fuzzer (tests/fuzz_api.c) under libFuzzer, with ASan and UBSan,
# from a corpus of structured seeds plus the regression inputs. A crash is
# written to $(FUZZ_OUT)/crash-*: copied into tests/fuzz-regress/, it is
# replayed by make check from then on. (make check runs the same fuzzer
# from seeded inputs in every build, make check-full from more of them:
# tests/test_fuzz_api.c.)
FUZZ_SECONDS ?= 300
FUZZ_PROFILE ?= x86
FUZZ_BUILD := build-clang-address-fuzz
FUZZ_OUT := $(FUZZ_BUILD)/fuzz-$(FUZZ_PROFILE)
fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory CC=clang SAN=address FUZZ=1 $(FUZZ_BUILD)/fuzz_api
	@mkdir -p $(FUZZ_OUT)/corpus
	PTLAB_FUZZ_PROFILE=$(FUZZ_PROFILE) PTLAB_FUZZ_SEED_CORPUS=$(FUZZ_OUT)/corpus \
		$(FUZZ_BUILD)/fuzz_api -max_total_time=$(FUZZ_SECONDS) -timeout=60 -rss_limit_mb=4096 \
		-artifact_prefix=$(FUZZ_OUT)/ $(FUZZ_OUT)/corpus tests/fuzz-regress

ifeq ($(FUZZ),1)
$(BUILD)/fuzz_api: tests/fuzz_api.c $(LIB) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@
endif

# Installation. The Spin model needs no file at run time: it is embedded in
# the command (src/model/), which runs spin and gcc from PATH.
# install builds what `make` would and nothing more (nothing after a
# `make`, so a `sudo make install` builds nothing as root); it never
# installs Debian packages. debian/rules sets PREFIX=/usr and the
# multiarch LIBDIR.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install
HEADERS := $(sort $(wildcard include/ptlab/*.h))
INSTALLED := $(BINDIR)/ptlab $(LIBDIR)/libptlab.a $(PKGCONFIGDIR)/ptlab.pc \
	     $(MANDIR)/man1/ptlab.1 $(HEADERS:include/%=$(INCLUDEDIR)/%)

install: all
	$(call say,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/ptlab $(DESTDIR)$(MANDIR)/man1
	$(Q)$(INSTALL) -m 755 $(PTLAB) $(DESTDIR)$(BINDIR)/ptlab
	$(Q)$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libptlab.a
	$(Q)$(INSTALL) -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/ptlab/
	$(Q)$(INSTALL) -m 644 docs/ptlab.1 $(DESTDIR)$(MANDIR)/man1/ptlab.1
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' ptlab.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/ptlab.pc
	$(Q)chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/ptlab.pc

uninstall:
	$(call say,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir --ignore-fail-on-non-empty $(DESTDIR)$(INCLUDEDIR)/ptlab 2>/dev/null || true

# Checks an installed copy (same PREFIX, LIBDIR and DESTDIR as the install,
# or a package's: PREFIX=/usr LIBDIR=/usr/lib/<multiarch>): the command's
# version, the man page (gzipped in a package), and examples/ built with
# nothing but the installed headers and library, found through pkg-config
# (--static: libptlab is a static library, so its private requirements are
# linked too).
IC := $(BUILD)/installcheck
IC_PKG_CONFIG := $(if $(DESTDIR),PKG_CONFIG_SYSROOT_DIR=$(DESTDIR)) \
		 PKG_CONFIG_PATH=$(DESTDIR)$(PKGCONFIGDIR)$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH)) \
		 pkg-config
installcheck:
	$(call say,CHECK,$(DESTDIR)$(PREFIX))
	$(Q)test "$$($(DESTDIR)$(BINDIR)/ptlab --version)" = "ptlab $(VERSION)"
	$(Q)test "$$($(IC_PKG_CONFIG) --modversion ptlab)" = "$(VERSION)"
	$(Q)ls $(DESTDIR)$(MANDIR)/man1/ptlab.1* >/dev/null
	@mkdir -p $(IC)
	$(Q)for src in $(EXAMPLE_SRCS); do \
		exe=$(IC)/$$(basename $$src .c); \
		$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) $$src -o $$exe \
			$$($(IC_PKG_CONFIG) --static --cflags --libs ptlab) && $$exe || exit 1; \
	done

# make check's round trip: install into a fresh DESTDIR, installcheck,
# uninstall, and nothing of ptlab's may be left.
STAGE := $(abspath $(BUILD))/stage
check-install: all
	$(Q)rm -rf $(STAGE)
	@$(MAKE) --no-print-directory install DESTDIR=$(STAGE)
	@$(MAKE) --no-print-directory installcheck DESTDIR=$(STAGE)
	@$(MAKE) --no-print-directory uninstall DESTDIR=$(STAGE)
	$(Q)test -z "$$(find $(STAGE) -type f)"
	$(Q)rm -rf $(STAGE)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(EXAMPLES:=.d)
