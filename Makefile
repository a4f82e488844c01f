# ptlab: the kernel's page-table lifetime protocol, run for real in user space.
#
#   make              build libptlab.a and the ptlab command
#   make run          install what is missing, build, run the main job
#   make check        install what is missing, build, run every test
#   make bench        run the benchmarks (never part of make check)
#   make CC=clang     build with clang (into build-clang/)
#   make check SAN=address   ASan + UBSan (into build-address/)
#   make check SAN=thread    TSan (into build-thread/)

CC ?= gcc
SAN ?=

ifeq ($(origin CC),default)
CC := gcc
endif

CCNAME := $(notdir $(firstword $(CC)))
BUILD_SUFFIX := $(if $(filter-out gcc cc,$(CCNAME)),-$(CCNAME))$(if $(SAN),-$(SAN))
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
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -pthread -MMD -MP
LDLIBS += -lurcu-memb -lurcu-common -lm -pthread

ifeq ($(SAN),address)
# Recoverable ASan so that the lab can report a walker touching a poisoned
# freed table as a finding; unexpected reports still fail (see src/lab/asan.c).
CFLAGS += -O1 -fsanitize=address,undefined -fsanitize-recover=address \
	  -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
CPPFLAGS += -DPTLAB_DEBUG=1
endif
ifeq ($(SAN),thread)
# gcc warns that TSan does not model atomic_thread_fence(); ptlab's fences
# only add ordering on top of atomics TSan does see.
CFLAGS += -O1 -fsanitize=thread -fno-omit-frame-pointer \
	  $(if $(filter gcc cc,$(CCNAME)),-Wno-tsan)
LDFLAGS += -fsanitize=thread
CPPFLAGS += -DPTLAB_DEBUG=1
endif

LIB_SRCS := $(sort $(wildcard src/*.c src/*/*.c))
CLI_SRCS := $(sort $(wildcard cli/*.c bench/*.c))
TEST_SRCS := $(sort $(wildcard tests/*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)

LIB := $(BUILD)/libptlab.a
PTLAB := $(BUILD)/ptlab
TESTS := $(BUILD)/ptlab-tests

.PHONY: all run check bench deps clean
all: $(LIB) $(PTLAB)

# Objects depend on the flags they were built with: a change rebuilds.
FLAGS_STAMP := $(BUILD)/flags
$(shell mkdir -p $(BUILD); echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' | \
	cmp -s - $(FLAGS_STAMP) || echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' > $(FLAGS_STAMP))

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# src/lab/model.c embeds the Spin model with .incbin, which -MMD cannot see.
$(BUILD)/obj/src/lab/model.o: model/ptlab.pml

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(PTLAB): $(CLI_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJS) $(LIB) $(LDLIBS) -o $@

$(TESTS): $(TEST_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(TEST_OBJS) $(LIB) $(LDLIBS) -o $@

# Debian packages the build, the tests and the model need; installed with
# apt-get when missing (scripts/deps.sh says what it does and why).
deps:
	@scripts/deps.sh $(CCNAME)

run: deps
	@$(MAKE) --no-print-directory all
	$(PTLAB) matrix

check: deps
	@$(MAKE) --no-print-directory all $(TESTS)
	$(TESTS) --ptlab $(PTLAB)

bench: deps
	@$(MAKE) --no-print-directory all
	$(PTLAB) bench

clean:
	rm -rf build build-*

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d)
