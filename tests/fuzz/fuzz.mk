# Hardening: libFuzzer targets, valgrind, fault-injection backends.
# See docs/hardening.md.
#
#   make fuzz                    each target FUZZ_SECONDS (60) seconds, one
#                                after the other; summary in build/fuzz/summary.txt
#   make fuzz FUZZ_TARGETS='uri config' FUZZ_SECONDS=300
#   make fuzz-build              the binaries only (build/fuzz/fuzz_<target>)
#   make fuzz-replay             every seed and saved crash, once, no fuzzing
#   make fuzz-coverage           line coverage of what the corpus reaches
#                                (llvm-cov, build/fuzz-cov/report.txt)
#   make valgrind                interop round trips with nbd-serverd under memcheck
#
# The fuzz binaries get their own compile of libcnbd and of the server's
# configuration code with clang (-fsanitize=fuzzer-no-link for coverage,
# ASan and UBSan), in build/fuzz whatever SANITIZE says: libFuzzer needs
# clang's coverage instrumentation, which the gcc objects lack.
# The same target functions are also built with $(CC) into
# tests/unit/test_fuzz_regress, which replays the corpus in `make check`.


FUZZ_CC       ?= clang
FUZZ_B        := build/fuzz
FUZZ_SECONDS  ?= 60
FUZZ_TARGETS  ?= server_options server_requests client_replies config uri parse
FUZZ_ALL      := server_options server_requests client_replies config uri parse
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer
FUZZ_CFLAGS   := -std=gnu11 -g -O1 -pthread $(WARN) $(FUZZ_SAN)
FUZZ_LIBS      = $(LIB_LIBS) -lcap-ng -pthread

FUZZ_COMMON   := fuzz_peer fuzz_disk fuzz_engine
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_B)/%.o)
# Everything of the server but main(): the archive lets the linker take
# only what the configuration parser needs, whatever its files are called.
FUZZ_SRV_OBJS := $(patsubst %.c,$(FUZZ_B)/%.o,$(filter-out server/main.c,$(wildcard server/*.c)))
FUZZ_BINS     := $(FUZZ_ALL:%=$(FUZZ_B)/fuzz_%)

# Library and server code: coverage for the fuzzer, the sanitizers.
$(FUZZ_B)/lib/%.o $(FUZZ_B)/server/%.o: FUZZ_COV := -fsanitize=fuzzer-no-link
$(FUZZ_B)/tests/fuzz/%.o: FUZZ_COV := -fsanitize=fuzzer-no-link -DCNBD_LIBFUZZER

# lib/attach/ speaks netlink through libnl, whose headers are not on the
# default path (lib/attach/attach.mk sets the same for the normal build).
$(FUZZ_B)/lib/attach/%.o: CPPFLAGS += $(NL_CFLAGS)

# libseccomp's SCMP_A* macros leave a field to zero initialisation, which
# clang (unlike gcc) warns about.
$(FUZZ_B)/server/sandbox.o: FUZZ_COV += -Wno-missing-field-initializers

$(FUZZ_B)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Iserver -Itests/fuzz $(FUZZ_CFLAGS) $(FUZZ_COV) \
		-MMD -MP -c -o $@ $<

$(FUZZ_B)/libcnbd.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_B)/libserver.a: $(FUZZ_SRV_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/tests/fuzz/fuzz_%.o \
		$(FUZZ_COMMON:%=$(FUZZ_B)/tests/fuzz/%.o) \
		$(FUZZ_B)/libserver.a $(FUZZ_B)/libcnbd.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)

.SECONDARY: $(FUZZ_LIB_OBJS) $(FUZZ_SRV_OBJS) \
	$(patsubst %,$(FUZZ_B)/tests/fuzz/%.o,$(FUZZ_COMMON) $(FUZZ_ALL:%=fuzz_%))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_B=$(FUZZ_B) tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: fuzz-build
	FUZZ_B=$(FUZZ_B) tests/fuzz/run.sh 0 $(FUZZ_TARGETS)

# The same binaries with source-based coverage instead of the sanitizers,
# run once over the corpus that make fuzz grew (build/fuzz/corpus).
fuzz-coverage:
	$(MAKE) FUZZ_B=build/fuzz-cov \
		FUZZ_SAN='-fprofile-instr-generate -fcoverage-mapping' fuzz-build
	tests/fuzz/coverage.sh build/fuzz-cov build/fuzz $(FUZZ_TARGETS)

valgrind: all
	CNBD_BUILD=$(abspath $(B)) tests/fuzz/valgrind_interop.sh

.PHONY: fuzz-build fuzz-replay fuzz-coverage valgrind

# ---- the same targets in make check -----------------------------------
# test_fuzz_regress replays tests/fuzz/corpus and tests/fuzz/regress
# through the target functions, built with $(CC) like every unit test.
$(B)/tests/fuzz/%.o $(B)/tests/unit/test_fuzz_regress.o: \
	CPPFLAGS += -Iserver -Itests/fuzz

$(B)/tests/fuzz/libserver.a: $(filter-out $(B)/server/main.o,$(SERVER_OBJS))
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

UNIT_EXTRA_test_fuzz_regress := \
	$(patsubst %,$(B)/tests/fuzz/%.o,$(FUZZ_COMMON) $(FUZZ_ALL:%=fuzz_%)) \
	$(B)/tests/fuzz/libserver.a -lcap-ng
