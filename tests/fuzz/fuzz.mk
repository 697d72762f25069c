# `make fuzz` (not in CI): builds the libFuzzer targets in tests/fuzz with clang
# (ASan + UBSan, build-fuzz/) and runs each for FUZZ_SECONDS (default 60) on a scratch
# copy of its seed corpus; fails if any target crashes, times out or breaks a property.
# Included from the top Makefile; `make -f Makefile -f tests/fuzz/fuzz.mk fuzz` works too.
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="config proxy_header" FUZZ_ARGS="-jobs=2"
.PHONY: fuzz fuzz-build fuzz-deps

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= config control_request vrrp_packet proxy_header
FUZZ_ARGS    ?=
FUZZ_CXX     ?= clang++
FUZZ_BUILD   := build-fuzz

# The parsers under test and what they call, rebuilt with clang so that coverage and
# the sanitizers reach into them (build/libringlb.a is g++ without either).
# Every file of core/config but the store (file I/O, not parsing).
FUZZ_LIB_SRCS := $(filter-out core/config/config_store.cc,$(wildcard core/config/*.cc)) \
                 core/control/control_proto.cc core/forward/proxy_header.cc \
                 core/base/inet_addr.cc core/base/duration.cc vrrp/vrrp_packet.cc
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.cc=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# The main Makefile's -I/-D flags; no -Werror, as clang warns about things g++ does not.
# _GLIBCXX_ASSERTIONS adds bounds checks to operator[] of string, vector and span.
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CXXFLAGS := -std=c++20 -g -O1 -Wall -Wextra -pthread -I. $(filter-out -I.,$(filter -I% -D%,$(CXXFLAGS))) \
                 -D_GLIBCXX_ASSERTIONS $(FUZZ_SAN)
FUZZ_LDLIBS   := -pthread

fuzz-deps:
	tests/install-deps.sh build fuzz

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh $(FUZZ_TARGETS) $(FUZZ_ARGS)

$(FUZZ_BUILD)/obj/%.o: %.cc | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# Kept, although only the pattern rules name them, so a rebuild recompiles only what changed.
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o) $(FUZZ_LIB_OBJS)

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $^ -o $@ $(FUZZ_LDLIBS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
