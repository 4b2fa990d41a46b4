# ctrx — plain Makefile + pkg-config.
#   make                 build ./ctrx (warnings are errors: DEVELOPER=1 is the default;
#                        packagers building a release with another compiler use
#                        DEVELOPER=0, which keeps the warnings but not -Werror)
#   make unit            unit suites only (no daemon needed)
#   make check           deps if missing, build, unit suites, then the end-to-end suites
#                        on a test bed of each containerd line (CONTAINERD_LINES)
#   make e2e             the end-to-end suites on one line: CONTAINERD=1.6 (Debian's
#                        package, the default), 1.7 or 2.1 (upstream 1.7.29 / 2.1.5,
#                        from the release archives in CONTAINERD_ARCHIVES)
#   make demo            deps if missing, build, the main job on a throwaway containerd
#   make bench           ctrx against ctr, side by side
#   make install PREFIX=/usr/local
#   make fuzz            every tests/fuzz/fuzz_*.c for FUZZ_SECONDS each (clang, libFuzzer)
#   make leakcheck       valgrind over a real pull and run on a throwaway test bed
#                        (no definite leak, no memory error)
#   make lint            the house rules (tests/lint/ratchet: function and file length,
#                        core modules that print, repeated code), then cppcheck and
#                        clang-tidy (.clang-tidy), warnings are errors
#   make mutation        the mutants of tests/mutation/mutants, each applied to a
#                        scratch copy: every one must make its suites fail
#   SANITIZE=address,undefined   build for the sanitizers, in build-san/ (B=) with the
#                        binary at build-san/ctrx; unit and e2e then test that build

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
DEVELOPER ?= 1
SANITIZE ?=
# A sanitized build keeps its objects apart from the normal one.
ifeq ($(SANITIZE),)
B ?= build
else
B ?= build-san
endif
# The binary make builds and the end-to-end suites run.
CTRX_BIN := $(if $(SANITIZE),$(B)/ctrx,ctrx)
FUZZ_SECONDS ?= 20
# containerd lines: the one make e2e tests, those make check tests, and where the
# upstream release archives (containerd-VERSION.tar.xz + SHA256SUMS) are.
CONTAINERD ?= 1.6
CONTAINERD_LINES ?= 1.6 1.7 2.1
CONTAINERD_ARCHIVES ?= ../shared/containerd

# libcrypto is loaded with dlopen at run time (src/digest.c): its headers are
# used, the library is not linked.
PKGS_LINK := libnghttp2 libprotobuf-c jansson
PKGS := $(PKGS_LINK) libcrypto
PROTOBUF_INCLUDE := $(shell pkg-config --variable=includedir protobuf 2>/dev/null || echo /usr/include)

CFLAGS ?= -O2 -g
REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CFLAGS += -DCTRX_REVISION=\"$(REVISION)\"
CFLAGS += -std=gnu11 -D_GNU_SOURCE -pthread -Isrc -I$(B)/proto -fno-strict-aliasing
CFLAGS += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS += -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wwrite-strings \
	-Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(DEVELOPER),1)
CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
# Any report fails the run it happens in (tests, e2e, ctrx itself).
export ASAN_OPTIONS ?= detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif
LDLIBS += $(shell pkg-config --libs $(PKGS_LINK) 2>/dev/null) -ldl -lpthread

# Debian packages the build, the tests and the test bed need.
DEB_BUILD := build-essential pkg-config libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler \
	libprotobuf-dev libjansson-dev libssl-dev libcurl4-openssl-dev check
# (zsh, man-db and groff-base: the docs suite loads the zsh completion and
# renders the man page, and fails when they are missing; libcap2-bin's capsh
# runs ctr and ctrx under a reduced bounding set; time measures a pull's peak RSS.)
DEB_TESTBED := containerd runc docker-registry busybox-static openssl curl procps \
	zsh man-db groff-base libcap2-bin time
# Tools of make fuzz, lint, leakcheck and format-check; the first three install
# them when missing (deps-extra-if-missing). libclang-rt-dev holds libFuzzer and
# clang's sanitizer runtimes, which clang only recommends.
DEB_EXTRA := clang libclang-rt-dev valgrind cppcheck clang-tidy clang-format
DEB_ALL := $(DEB_BUILD) $(DEB_TESTBED)
# What make deps installs.
DEB_DEPS ?= $(DEB_ALL)

PROTOS := $(wildcard proto/*.proto)
WKT := any timestamp empty field_mask
PROTO_C := $(patsubst proto/%.proto,$(B)/proto/%.pb-c.c,$(PROTOS)) \
	$(patsubst %,$(B)/proto/google/protobuf/%.pb-c.c,$(WKT))
PROTO_O := $(PROTO_C:.c=.o)

CORE_SRC := $(filter-out src/main.c,$(wildcard src/*.c src/ctd/*.c src/cmd/*.c))
CORE_O := $(patsubst %.c,$(B)/%.o,$(CORE_SRC)) $(PROTO_O)
MAIN_O := $(B)/src/main.o

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_O := $(patsubst %.c,$(B)/%.o,$(UNIT_SRC) tests/unit/main.c tests/unit/unit.c)
E2E_TESTS := $(wildcard tests/e2e/test_*.c)
E2E_O := $(patsubst %.c,$(B)/%.o,$(E2E_TESTS) tests/e2e/main.c tests/e2e/e2e.c)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)

.PHONY: e2e-lines all deps deps-if-missing deps-extra-if-missing unit e2e check demo bench install clean \
	format format-check lint fuzz leakcheck mutation
.SECONDARY:

all: $(CTRX_BIN)

$(CTRX_BIN): $(MAIN_O) $(B)/libctrx.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
ifneq ($(CTRX_BIN),ctrx)
.PHONY: ctrx
ctrx: $(CTRX_BIN)
endif

$(B)/libctrx.a: $(CORE_O)
	@rm -f $@
	ar rcs $@ $^

# Generated protobuf code is built, never committed.
$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/proto
	protoc-c --proto_path=proto --proto_path=$(PROTOBUF_INCLUDE) --c_out=$(B)/proto $<

$(B)/proto/google/protobuf/%.pb-c.c $(B)/proto/google/protobuf/%.pb-c.h: $(PROTOBUF_INCLUDE)/google/protobuf/%.proto
	@mkdir -p $(B)/proto
	protoc-c --proto_path=$(PROTOBUF_INCLUDE) --c_out=$(B)/proto $<

$(B)/proto/%.o: $(B)/proto/%.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -W%,$(CFLAGS)) -c -o $@ $<

$(B)/%.o: %.c $(PROTO_C) | $(B)/.dirs
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/.dirs:
	@mkdir -p $(B)
	@touch $@

# Every tests/{unit,e2e}/test_NAME.c defines Suite *NAME_suite(void); the lists
# are generated from the file names.
define suites_h
	@mkdir -p $(dir $@)
	@for f in $(filter-out FORCE,$^); do n=$${f##*/test_}; echo "SUITE($${n%.c})"; done > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
endef
$(B)/tests/unit/suites.h: $(UNIT_SRC) FORCE
	$(suites_h)
$(B)/tests/e2e/suites.h: $(E2E_TESTS) FORCE
	$(suites_h)
FORCE:

$(B)/tests/unit/main.o: $(B)/tests/unit/suites.h
$(B)/tests/unit/main.o: CFLAGS += -I$(B)/tests/unit
$(B)/tests/e2e/main.o: $(B)/tests/e2e/suites.h
$(B)/tests/e2e/main.o: CFLAGS += -I$(B)/tests/e2e
# Suites are found by name, not through a header.
$(B)/tests/%.o: CFLAGS += -Wno-missing-prototypes

$(B)/unit-tests: $(UNIT_O) $(B)/libctrx.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# (the end-to-end suites hash with libcrypto themselves; ctrx only dlopens it)
$(B)/e2e-tests: $(E2E_O) $(B)/libctrx.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libcrypto) $(CHECK_LIBS)

# Check's default of 4 s per test is too short for the larger tables under
# the sanitizers on a loaded machine; a hang still fails.
unit: $(B)/unit-tests
	CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-60} $(B)/unit-tests

e2e: $(CTRX_BIN) $(B)/e2e-tests
	CTRX_TEST_CONTAINERD=$(CONTAINERD) CTRX_CONTAINERD_ARCHIVES=$(abspath $(CONTAINERD_ARCHIVES)) \
	  CTRX_BIN=$(abspath $(CTRX_BIN)) tests/testbed/run-e2e $(B)/e2e-tests

# Every line in turn, each tested even when one before it failed; each line's
# time and result are printed at the end.
e2e-lines: $(CTRX_BIN) $(B)/e2e-tests
	@times=; rc=0; for l in $(CONTAINERD_LINES); do t0=$$(date +%s); r=ok; \
	  $(MAKE) --no-print-directory e2e CONTAINERD=$$l || { r=FAILED; rc=1; }; \
	  times="$$times$$(printf '\n%5ss  containerd %s  %s' $$(($$(date +%s) - t0)) $$l $$r)"; done; \
	  echo "--- end-to-end time per containerd line$$times"; exit $$rc

check: deps-if-missing
	$(MAKE) $(CTRX_BIN) $(B)/unit-tests $(B)/e2e-tests
	$(MAKE) unit
	$(MAKE) e2e-lines

demo: deps-if-missing
	$(MAKE) ctrx
	tests/testbed/demo

bench: deps-if-missing
	$(MAKE) ctrx
	CTRX_CONTAINERD_ARCHIVES=$(abspath $(CONTAINERD_ARCHIVES)) BENCH_LINES="$${BENCH_LINES:-$(CONTAINERD_LINES)}" bench/run

deps:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make deps needs root; install these Debian packages:"; echo "  $(DEB_DEPS)"; exit 1; fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_DEPS)

# $(call missing_debs,PACKAGES): shell code setting $$missing to those not installed
missing_debs = missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	grep -q '^install ok installed' || echo $$p; done)

deps-if-missing:
	@$(call missing_debs,$(DEB_ALL)); \
	if [ -n "$$missing" ]; then echo "missing packages:" $$missing; $(MAKE) deps; fi

deps-extra-if-missing:
	@$(call missing_debs,$(DEB_ALL) $(DEB_EXTRA)); \
	if [ -n "$$missing" ]; then echo "missing packages:" $$missing; $(MAKE) deps DEB_DEPS="$$missing"; fi

install: ctrx
	install -D -m 0755 ctrx $(DESTDIR)$(PREFIX)/bin/ctrx
	@if [ -f man/ctrx.1 ]; then install -D -m 0644 man/ctrx.1 $(DESTDIR)$(PREFIX)/share/man/man1/ctrx.1; fi
	@if [ -f completion/ctrx.bash ]; then install -D -m 0644 completion/ctrx.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ctrx; fi
	@if [ -f completion/_ctrx ]; then install -D -m 0644 completion/_ctrx \
	  $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_ctrx; fi

# --- Fuzzing: every tests/fuzz/fuzz_NAME.c is a libFuzzer target, built with
# clang and linked against an instrumented archive of the core sources (the
# linker takes exactly the objects the target needs), then run for
# FUZZ_SECONDS on a copy of tests/fuzz/corpus/NAME (FUZZ_CORPUS_NAME to name
# another); crashes, leaks and timeouts fail it and leave the input in
# $(FUZZ_B)/NAME/.
FUZZ_CC ?= clang
FUZZ_B := $(B)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -pthread -Isrc -I$(B)/proto -fno-strict-aliasing \
	-DCTRX_REVISION=\"fuzz\" $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(FUZZ_SAN)
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(FUZZ_B)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_LIB_O := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(CORE_SRC) $(PROTO_C))
FUZZ_CORPUS_spec_inputs := spec

$(FUZZ_B)/obj/%.o: %.c $(PROTO_C)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_B)/libctrx.a: $(FUZZ_LIB_O)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_B)/libctrx.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz: deps-extra-if-missing
	$(MAKE) $(FUZZ_BINS)
	@fail=; $(foreach t,$(FUZZ_TARGETS),tests/fuzz/run $(FUZZ_B)/fuzz_$(t) \
	  tests/fuzz/corpus/$(or $(FUZZ_CORPUS_$(t)),$(t)) $(FUZZ_B)/$(t) $(FUZZ_SECONDS) || fail="$$fail $(t)";) \
	if [ -n "$$fail" ]; then echo "fuzz: failed:$$fail"; exit 1; fi

# --- valgrind over a real pull and run (normal build, its own test bed).
leakcheck: deps-extra-if-missing
	@if [ -n "$(SANITIZE)" ]; then echo "make leakcheck runs valgrind on the normal build: drop SANITIZE"; exit 1; fi
	$(MAKE) ctrx
	tests/testbed/leakcheck ./ctrx

# --- Mutation testing: tests/mutation/run applies each listed mutant to a
# scratch copy of the tree (never this one), rebuilds and runs the suites the
# mutant names; it fails when one survives. MUTANT="NAME..." runs only those.
# What is built here first only spares the scratch copy a full build.
mutation: deps-if-missing
	@if [ -n "$(SANITIZE)" ]; then echo "make mutation builds the normal build: drop SANITIZE"; exit 1; fi
	$(MAKE) $(B)/unit-tests $(B)/e2e-tests
	tests/mutation/run $(MUTANT)

# --- Static analysis over the committed C sources (generated code excluded).
# (tests/testbed/ holds stand-alone helper programs with their own build.)
LINT_SRC = $(shell git ls-files 'src/*.c' 'tests/unit/*.c' 'tests/e2e/*.c' 'tests/fuzz/*.c' 2>/dev/null)
LINT_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
LINT_CFLAGS = -std=gnu11 -D_GNU_SOURCE -pthread -Isrc -I$(B)/proto -I$(B)/tests/unit -I$(B)/tests/e2e \
	$(shell pkg-config --cflags $(PKGS) check 2>/dev/null)
# cppcheck: __typeof__ spelled the way it parses; the generated protobuf headers
# are left out (they only declare, and #error on cppcheck's idea of versions).
CPPCHECK_FLAGS = --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	--quiet --std=c11 -D_GNU_SOURCE -D__GNUC__ -D__typeof__=typeof -Isrc -Itests/e2e \
	--suppress=missingIncludeSystem

lint: deps-extra-if-missing
	tests/lint/ratchet
	@$(MAKE) -s $(PROTO_C) $(B)/tests/unit/suites.h $(B)/tests/e2e/suites.h
	cppcheck $(CPPCHECK_FLAGS) $(LINT_SRC)
	@echo "cppcheck: clean"
	@mkdir -p $(B)/lint
	@echo "clang-tidy ($(LINT_JOBS) jobs, .clang-tidy) over $(words $(LINT_SRC)) files"
	@printf '%s\n' $(LINT_SRC) | xargs -P $(LINT_JOBS) -n 4 sh -c \
	  'exec clang-tidy --quiet "$$@" -- $(LINT_CFLAGS)' clang-tidy >$(B)/lint/clang-tidy.log 2>&1; \
	rc=$$?; grep -v ' warnings\{0,1\} generated\.$$' $(B)/lint/clang-tidy.log; \
	if [ $$rc != 0 ]; then echo "clang-tidy: findings above (log: $(B)/lint/clang-tidy.log)"; exit 1; fi; \
	echo "clang-tidy: clean"

format:
	clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.c')

format-check: deps-extra-if-missing
	clang-format --dry-run -Werror $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.c')
	@echo "clang-format: clean"

clean:
	rm -rf $(B) build build-san ctrx

-include $(shell find $(B) -name '*.d' 2>/dev/null)
