#!/usr/bin/python3
"""Requests beyond the end, with libnbd's own checks off so that the
server answers: reads get EINVAL, writes and write-zeroes ENOSPC, trims
EINVAL, also when they straddle the end or their offset+length wraps
64 bits; nothing is written, and the connection keeps working. Both
with structured replies (errors in error chunks) and simple replies."""
import errno

import nbd
import nbdtest
from nbdtest import check, expect_nbd_error

SIZE = 1 << 20


def run(srv, structured):
    h = srv.connect("mem", strict=0, structured=structured)
    check(h.get_structured_replies_negotiated() == structured,
          "structured replies negotiated: %s" % (not structured))
    check(h.get_size() == SIZE, "size %d" % h.get_size())
    last = b"\x5a" * 512
    h.pwrite(last, SIZE - 512)

    for off, n in ((SIZE, 1), (SIZE - 1, 2), (SIZE - 512, 1024),
                   (SIZE + 4096, 4096), (1 << 62, 512),
                   ((1 << 64) - 512, 1024)):
        # Where offset + length wraps, EINVAL is as right as ENOSPC.
        wspace = errno.ENOSPC if off < (1 << 63) else (errno.ENOSPC, errno.EINVAL)
        expect_nbd_error(errno.EINVAL, h.pread, n, off,
                         what="read %d+%d" % (off, n))
        expect_nbd_error(wspace, h.pwrite, b"\xff" * n, off,
                         what="write %d+%d" % (off, n))
        expect_nbd_error(wspace, h.zero, n, off,
                         what="write-zeroes %d+%d" % (off, n))
        expect_nbd_error(errno.EINVAL, h.trim, n, off,
                         what="trim %d+%d" % (off, n))

    # A refused write that straddles the end wrote nothing.
    check(h.pread(512, SIZE - 512) == last,
          "a refused write changed the last sector")
    # Ending exactly at the end is fine.
    h.pwrite(b"\x11" * 512, SIZE - 512)
    check(h.pread(1, SIZE - 1) == b"\x11", "write ending at the end")
    h.zero(512, SIZE - 512)
    h.trim(512, SIZE - 512)
    check(len(h.pread(512, SIZE - 512)) == 512, "read ending at the end")
    # A FUA flag does not change errors.
    expect_nbd_error(errno.ENOSPC, h.pwrite, b"x", SIZE, nbd.CMD_FLAG_FUA,
                     what="FUA write past the end")
    h.shutdown()
    srv.check_alive()


def main():
    exports = {"mem": {"backend": "memory", "size": SIZE}}
    with nbdtest.Server(exports) as srv:
        for structured in (True, False):
            run(srv, structured)


nbdtest.main(main)
