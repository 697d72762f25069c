# ringlb — the only entry point: build, test, demo, bench, clean.
# Sources are picked up by directory, so adding a file to a layer folder of core/
# (core/base, core/config, ...), to vrrp/, cli/, tests/unit/ (and its folders) or perf/
# needs no edit here. docs/architecture.md has the layer picture.

CXX      ?= g++
OPT      ?= -O2 -g
CXXFLAGS := -std=c++20 $(OPT) -Wall -Wextra -Werror -pthread -I. \
            -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL \
            -I/usr/include/libnl3 $(EXTRA_CXXFLAGS)
DEPFLAGS := -MMD -MP
LDLIBS   := -luring -lboost_program_options -lspdlog -lfmt -lnl-route-3 -lnl-3 -pthread

BUILD    := build
OBJ      := $(BUILD)/obj

CORE_SRCS := $(filter-out core/daemon/main.cc,$(wildcard core/*/*.cc))
VRRP_SRCS := $(wildcard vrrp/*.cc)
LIB_SRCS  := $(CORE_SRCS) $(VRRP_SRCS)
LIB_OBJS  := $(LIB_SRCS:%.cc=$(OBJ)/%.o)
CLI_SRCS  := $(wildcard cli/*.cc)
CLI_OBJS  := $(CLI_SRCS:%.cc=$(OBJ)/%.o)
# ringlbctl's pure parts (all but its main), which unit_tests link too.
CLI_LIB_OBJS := $(filter-out $(OBJ)/cli/ringlbctl.o,$(CLI_OBJS))
UNIT_SRCS := $(wildcard tests/unit/*.cc tests/unit/*/*.cc)
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(OBJ)/%.o)
PERF_SRCS := $(wildcard perf/*.cc)
PERF_BINS := $(PERF_SRCS:perf/%.cc=$(BUILD)/perf/%)

BINARIES := $(BUILD)/ringlbd $(if $(CLI_SRCS),$(BUILD)/ringlbctl)

.PHONY: all test unit-test integration-test test-sanitizers test-asan test-tsan demo bench deps deps-bench clean
.DEFAULT_GOAL := all

all: $(BINARIES) $(BUILD)/unit_tests $(PERF_BINS) $(BUILD)/netns/vrrp_driver

$(OBJ)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libringlb.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/ringlbd: $(OBJ)/core/daemon/main.o $(BUILD)/libringlb.a
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/ringlbctl: $(CLI_OBJS) $(BUILD)/libringlb.a
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(CLI_LIB_OBJS) $(BUILD)/libringlb.a
	$(CXX) $(CXXFLAGS) $^ -o $@ -lgtest_main -lgtest $(LDLIBS)

$(BUILD)/perf/%: perf/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(DEPFLAGS) $< -o $@ -pthread

# Installs what is missing (apt-get as root), builds, runs every test and ends
# with one line "N passed, N failed, N skipped".
test: deps
	$(MAKE) -j$$(nproc) all
	tests/run

unit-test: all
	tests/run --only unit

integration-test: all
	tests/run --only integration

# The same tests against sanitizer builds (run by .ci/run before make test):
# AddressSanitizer + UndefinedBehaviorSanitizer for unit, integration and netns suites,
# ThreadSanitizer for the unit and integration suites (every integration test runs
# ringlbd with workers = 2 unless it says otherwise). Any sanitizer report fails the run.
SANITIZED := ringlbd ringlbctl unit_tests netns/vrrp_driver
# -Wno-maybe-uninitialized: g++ 12 with -fsanitize=address warns falsely inside
# <regex> (std::function members of its NFA states); the plain build keeps the warning.
# -fno-sanitize=vptr: on a type-cache miss UBSan's vptr check tests the object's memory
# by writing it into a fresh pipe(); with every descriptor in use (the out-of-fds tests
# do that on purpose) pipe() fails and it reports a valid object as "invalid vptr".
ASAN_OPT  := -O1 -g -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all \
             -fno-omit-frame-pointer -Wno-maybe-uninitialized
TSAN_OPT  := -O1 -g -fsanitize=thread

test-sanitizers: test-asan test-tsan

test-asan: deps
	$(MAKE) -j$$(nproc) BUILD=build-asan OPT="$(ASAN_OPT)" $(addprefix build-asan/,$(SANITIZED))
	tests/run --build build-asan --only unit,integration,netns

test-tsan: deps
	$(MAKE) -j$$(nproc) BUILD=build-tsan OPT="$(TSAN_OPT)" $(addprefix build-tsan/,$(SANITIZED))
	tests/run --build build-tsan --only unit,integration

demo: deps
	$(MAKE) -j$$(nproc) all
	tests/demo.sh

bench: deps deps-bench
	$(MAKE) -j$$(nproc) all
	perf/bench.sh

deps:
	tests/install-deps.sh build test

deps-bench:
	tests/install-deps.sh bench

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

# The VRRP test driver for tests/netns (VrrpRunner without the forwarder).
$(BUILD)/netns/vrrp_driver: tests/netns/vrrp_driver.cc $(BUILD)/libringlb.a
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# ---- packaging: `make deb`, `make test-package` (appended by the packaging work) ----
# deb: build/ringlb_<version>_<arch>.deb, built by dpkg-buildpackage in a temporary
# copy of the tree (packaging/build-deb.sh). test-package: lintian, then install,
# run as the unit would, purge (root only; tests/package/test_package.py).
.PHONY: deb test-package

deb:
	packaging/build-deb.sh

test-package: deb
	tests/install-deps.sh package
	/usr/bin/python3 -m pytest -q -rs -p no:cacheprovider tests/package
# ---- end of packaging ----

# `make test-fresh` (root; run by .ci/run): make test as a new user runs it, in a
# throwaway Debian 12 minbase root with only make installed (tests/fresh/run.sh), so
# that a package tests/install-deps.sh forgets fails here and not on a new machine.
.PHONY: test-fresh
test-fresh:
	tests/fresh/run.sh

# `make soak` (not in CI): 10 minutes of mixed load with reloads, CLI changes and
# backend kills against one ringlbd; SOAK_SECONDS=60 for a quick check.
include tests/soak/soak.mk

# `make fuzz` (not in CI; clang + libFuzzer): each target in tests/fuzz for FUZZ_SECONDS
# (default 60) on a scratch copy of its corpus. The corpora and every input that once
# crashed are replayed by build/unit_tests (FuzzRegression) on every make test.
include tests/fuzz/fuzz.mk
