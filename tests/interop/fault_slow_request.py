#!/usr/bin/python3
# One slow request does not hold up the fast ones behind it on the same
# connection: with faulty delaying reads of one range by 2 s, a read of
# that range is issued first, then 50 reads elsewhere; all 50 complete
# before the slow one, and well within its delay. (faulty is a blocking
# backend: its requests run on the worker's executor threads, never
# inline on the connection's reading thread.)
import time

import nbd
import nbdtest
from nbdtest import check

MiB = 1 << 20
DELAY = 2.0


def main():
    exports = {"slow": {"backend": "faulty", "inner": "memory", "size": "16M",
                        "delay-read-ms": int(DELAY * 1000),
                        "delay-at": "8M-4K"}}
    with nbdtest.Server(exports) as srv:
        h = srv.connect("slow")
        h.pwrite(b"\x11" * 4096, 8 * MiB)
        h.pwrite(b"\x22" * 4096, 0)
        h.flush()

        start = time.monotonic()
        slow_buf = nbd.Buffer(4096)
        slow = h.aio_pread(slow_buf, 8 * MiB)
        fast = []
        for i in range(50):
            buf = nbd.Buffer(4096)
            fast.append((h.aio_pread(buf, (i % 16) * 4096), buf))

        pending = {c for c, _ in fast}
        fast_done_at = None
        slow_done_at = None
        slow_done_before = 0
        while slow_done_at is None or pending:
            h.poll(-1)
            now = time.monotonic() - start
            for c in list(pending):
                if h.aio_command_completed(c):
                    pending.discard(c)
            if not pending and fast_done_at is None:
                fast_done_at = now
            if slow_done_at is None and h.aio_command_completed(slow):
                slow_done_at = now
                slow_done_before = 50 - len(pending)
            check(now < 30, "requests still pending after 30 s")

        print("50 fast reads done at %.3f s; the slow read at %.3f s" %
              (fast_done_at, slow_done_at))
        check(slow_done_before == 50,
              "only %d of 50 fast reads completed before the slow one" % slow_done_before)
        check(fast_done_at < DELAY / 2,
              "the fast reads took %.3f s: they waited for the slow one" % fast_done_at)
        check(slow_done_at >= DELAY * 0.95,
              "the slow read took only %.3f s: delay-read-ms did not apply" % slow_done_at)
        check(slow_buf.to_bytearray() == b"\x11" * 4096, "slow read data")
        for _, buf in fast:
            check(buf.to_bytearray() in (b"\x22" * 4096, b"\0" * 4096), "fast read data")

        # Outside delay-at, no read waits.
        t = time.monotonic()
        h.pread(4096, 4 * MiB)
        check(time.monotonic() - t < DELAY / 2, "a read outside delay-at was delayed")
        h.shutdown()


nbdtest.main(main)
