# Kernel tests: boot Debian's kernel in qemu (TCG) with the host root shared
# read-only over 9p and run tests/kernel/cases/*.sh inside it against the
# real nbd.ko. See docs/kernel-testing.md.
#
#   make check-kernel                        all cases
#   make check-kernel KERNEL_CASES='smoke_*' only these (globs, ',' or ' ')
#   make kernel-shell                        an interactive shell in the VM
#
# CNBD_KERNEL_TIMEOUT, CNBD_CASE_TIMEOUT, CNBD_KERNEL_VERBOSE and friends
# pass through the environment (listed at the top of run-vm.sh).

KERNEL_CASES ?=

# The cases use the project's binaries from the build dir, so build first;
# $(B) follows SANITIZE=1 to build/asan.
KERNEL_RUN = $(if $(KERNEL_CASES),CNBD_KERNEL_CASES='$(KERNEL_CASES)') \
             CNBD_BUILD_DIR='$(abspath $(B))' tests/kernel/run-vm.sh

# attach-api drives the attach API from client_attach_api.sh.
ATTACH_API_OBJS := $(B)/tests/lib/attach_api_tool.o
PROGRAMS += $(B)/tests/attach-api
$(B)/tests/attach-api: $(ATTACH_API_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(ATTACH_API_OBJS) $(LIBCNBD) $(LIB_LIBS)

# ktls_unit runs a unit test binary in the guest (kernel TLS needs the
# guest's tls module); client_tls_keyupdate needs the test-only proxy
# that injects what kernel TLS cannot follow (tests/kernel/tls_inject.c).
TLS_INJECT := $(B)/tests/tls-inject
$(TLS_INJECT): $(B)/tests/kernel/tls_inject.o $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBCNBD) $(LIB_LIBS)

check-kernel: all $(B)/tests/unit/test_ktls $(TLS_INJECT)
	$(KERNEL_RUN)

kernel-shell: all
	$(KERNEL_RUN) --shell

.PHONY: kernel-shell
