# Benchmarks: measured and printed, never asserted (see docs/performance.md).
#
#   make bench          userspace table: cnbd vs nbdkit, nbd-server, qemu-nbd
#                       over TCP loopback with fio's nbd engine, plus iperf3
#                       and the sparse copy; saved to $(B)/bench/results.md
#   make bench-kernel   fio on /dev/nbd0 inside the kernel test VM, cnbd vs
#                       nbd-client + nbd-server; appended to results.md
#
# Knobs (BENCH_RUNTIME, BENCH_TRIALS, BENCH_SERVERS, ...) are listed at the
# top of tests/bench/bench.py and tests/bench/kernel/run.sh.

BENCH_OUT = $(abspath $(B))/bench

# /usr/bin/python3, not whatever python3 is first on PATH (here a pyenv
# build): the harness needs only the standard library, and naming Debian's
# keeps it from depending on someone's PATH.
bench: all
	/usr/bin/python3 tests/bench/bench.py --build $(abspath $(B)) --out $(BENCH_OUT)

bench-kernel: all
	tests/bench/kernel/run.sh $(abspath $(B)) $(BENCH_OUT)

.PHONY: bench-kernel
