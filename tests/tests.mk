# Tests: cmocka unit tests and interop tests against real NBD peers.
#
# Every tests/unit/test_<name>.c becomes $(B)/tests/unit/test_<name>,
# linked with libcnbd, inih, libdl and cmocka. A fragment that needs more
# for one test (extra objects, linker flags such as -Wl,--wrap=ioctl)
# defines UNIT_EXTRA_test_<name>; it may do so before or after this file
# is included (the variable is read by secondary expansion). Objects and
# archives named there are also prerequisites.
#
#   make check           all programs, unit tests, then tests/run
#   make check-unit      unit tests only
#   make check-interop   interop tests only (against $(B)/nbd-serverd)
#   make check T='protocol_*'   only tests whose name matches the glob

UNIT_TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_TEST_BINS := $(UNIT_TEST_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
UNIT_TESTS     += $(UNIT_TEST_BINS)

# (A literal % in the prerequisites would be taken for the stem: the
# filter patterns come from a variable.)
TESTS_PCT := %
.SECONDEXPANSION:
$(UNIT_TEST_BINS): $(B)/tests/unit/%: $(B)/tests/unit/%.o \
		$$(filter $$(TESTS_PCT).o $$(TESTS_PCT).a $$(TESTS_PCT).so,$$(UNIT_EXTRA_$$*)) \
		$(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(filter-out %.a,$(UNIT_EXTRA_$*)) \
		$(filter %.a,$(UNIT_EXTRA_$*)) $(LIBCNBD) $(LIB_LIBS) -lcmocka

TESTS_RUN = CNBD_BUILD=$(B) CNBD_UNIT_TESTS='$(sort $(UNIT_TESTS))' tests/run

check: all $$(sort $$(UNIT_TESTS))
	$(TESTS_RUN) $(T)

check-unit: $$(sort $$(UNIT_TESTS))
	$(TESTS_RUN) --unit $(T)

check-interop: all
	$(TESTS_RUN) --interop $(T)

.PHONY: check-unit check-interop

# The engine tests share a harness: the engine in a thread on a
# socketpair, an in-test memory backend, and a small protocol client.
UNIT_EXTRA_test_handshake    += $(B)/tests/lib/engine_harness.o
UNIT_EXTRA_test_transmission += $(B)/tests/lib/engine_harness.o
$(B)/tests/lib/engine_harness.o: CPPFLAGS += -Itests/lib
$(B)/tests/unit/test_handshake.o $(B)/tests/unit/test_transmission.o: CPPFLAGS += -Itests/lib

# unit-sandbox: a unit's capability bounding set, system call filter and
# address families applied to a daemon, without systemd (tests/lib/unit_sandbox.c).
PROGRAMS += $(B)/tests/unit-sandbox
$(B)/tests/unit-sandbox: $(B)/tests/lib/unit_sandbox.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs libseccomp) -lcap-ng
