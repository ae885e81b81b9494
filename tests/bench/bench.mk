# Benchmarks: measured and printed, never asserted (see docs/performance.md).
#
#   make bench          userspace table: cnbd vs nbdkit, nbd-server, qemu-nbd
#                       over TCP loopback with fio's nbd engine, iperf3, the
#                       sparse copy and the connection rate; saved to
#                       $(B)/bench/results.md
#   make bench BENCH_ONLY=connrate
#                       only the named parts (fio,iperf,sparse,connrate)
#   make bench-kernel   fio on /dev/nbd0 inside the kernel test VM, cnbd vs
#                       nbd-client + nbd-server; appended to results.md
#
# Knobs (BENCH_RUNTIME, BENCH_TRIALS, BENCH_SERVERS, ...) are listed at the
# top of tests/bench/bench.py and tests/bench/kernel/run.sh.

BENCH_OUT = $(abspath $(B))/bench

# The connection-rate client (tests/bench/connrate.c): raw sockets and the
# public protocol header only, so its own cost per connection stays small.
CONNRATE = $(B)/tests/bench/connrate

$(CONNRATE): $(B)/tests/bench/connrate.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $<

# /usr/bin/python3, not whatever python3 is first on PATH (here a pyenv
# build): the harness needs only the standard library, and naming Debian's
# keeps it from depending on someone's PATH. BENCH_ONLY reaches bench.py
# through the environment whether it is given to make or to the shell.
# The floor (tests/bench/floor_server.c): an NBD server that does only
# the system calls, so every row can be read as a multiple of it.
FLOOR_SERVER = $(B)/tests/bench/floor_server

$(FLOOR_SERVER): $(B)/tests/bench/floor_server.o $(B)/tests/bench/floor_handshake.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

# The same floor with its transmission loop on io_uring (multishot receive
# into a provided buffer ring, one send per completion burst): whether
# io_uring lowers the floor itself. Needs liburing-dev (deps/packages.txt).
FLOOR_URING = $(B)/tests/bench/floor_uring

$(FLOOR_URING): $(B)/tests/bench/floor_uring.o $(B)/tests/bench/floor_handshake.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -luring

bench: all $(CONNRATE) $(FLOOR_SERVER) $(FLOOR_URING)
	/usr/bin/python3 tests/bench/bench.py --build $(abspath $(B)) --out $(BENCH_OUT)

bench-kernel: all
	tests/bench/kernel/run.sh $(abspath $(B)) $(BENCH_OUT)

.PHONY: bench-kernel
