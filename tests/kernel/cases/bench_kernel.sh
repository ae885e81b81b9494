#!/bin/bash
# kernel-timeout: 1500
# Not a test: the kernel-path benchmark (tests/bench/kernel/guest.sh), run
# by `make bench-kernel`, which passes cnbd.bench=1 on the guest's kernel
# command line. The kernel harness runs every case in this directory, so
# under `make check-kernel` this only says why it did nothing: a benchmark
# in a TCG VM would add minutes and assert nothing.
if ! grep -qw 'cnbd.bench=1' /proc/cmdline; then
    echo "bench_kernel: benchmark, not a test: skipped (run it with make bench-kernel)"
    exit 0
fi
exec bash "$CNBD_REPO/tests/bench/kernel/guest.sh"
