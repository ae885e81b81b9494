#!/usr/bin/python3
# The faulty backend fails exactly the requests that touch its fail-*
# ranges, with the errno it was given, and nothing else: the blocks next
# to a bad one read and write fine, and the connection goes on after
# every error (simple and structured replies alike).
import errno

import nbd
import nbdtest
from nbdtest import check, expect_nbd_error

MiB = 1 << 20


def exercise(h, label):
    # Reads: the 4 KiB at 1 MiB fail, their neighbours do not.
    expect_nbd_error(errno.EIO, h.pread, 4096, MiB, what=label + " read of the bad block")
    expect_nbd_error(errno.EIO, h.pread, 512, MiB + 4095, what=label + " read of its last byte")
    expect_nbd_error(errno.EIO, h.pread, 8192, MiB - 4096, what=label + " read across it")
    check(h.pread(4096, MiB - 4096) == b"\0" * 4096, label + ": block before the bad one")
    check(h.pread(4096, MiB + 4096) == b"\0" * 4096, label + ": block after the bad one")

    # Writes: 8 KiB at 2 MiB refuse, and do not change what is there.
    expect_nbd_error(errno.EIO, h.pwrite, b"\xee" * 4096, 2 * MiB + 4096,
                     what=label + " write into the bad range")
    h.pwrite(b"\x5a" * 4096, 2 * MiB - 4096)
    h.pwrite(b"\x5b" * 4096, 2 * MiB + 8192)
    check(h.pread(4096, 2 * MiB - 4096) == b"\x5a" * 4096, label + ": write before the range")
    check(h.pread(4096, 2 * MiB + 8192) == b"\x5b" * 4096, label + ": write after the range")
    check(h.pread(8192, 2 * MiB) == b"\0" * 8192, label + ": the refused write changed data")

    # Trim and zero have their own ranges.
    expect_nbd_error(errno.EIO, h.trim, 4096, 3 * MiB, what=label + " trim of the bad range")
    h.trim(4096, 3 * MiB + 4096)
    expect_nbd_error(errno.EIO, h.zero, 4096, 5 * MiB, what=label + " zero of the bad range")
    h.zero(4096, 5 * MiB + 4096)

    # After all that, the connection still serves.
    h.pwrite(b"ok" * 2048, 0)
    h.flush()
    check(h.pread(4096, 0) == b"ok" * 2048, label + ": round trip after the errors")


def main():
    exports = {
        "bad": {"backend": "faulty", "inner": "memory", "size": "16M",
                "fail-read": "1M-4K", "fail-write": "2M-8K",
                "fail-trim": "3M-4K", "fail-zero": "5M-4K"},
        "full": {"backend": "faulty", "size": "16M", "fail-write": "0-64K",
                 "fail-errno": "ENOSPC"},
        "noflush": {"backend": "faulty", "size": "1M", "fail-flush": "yes",
                    "fail-errno": "EPERM"},
    }
    with nbdtest.Server(exports) as srv:
        for structured in (True, False):
            h = srv.connect("bad", structured=structured)
            check(h.get_size() == 16 * MiB, "size passed through to memory")
            exercise(h, "structured" if structured else "simple")
            h.shutdown()

        h = srv.connect("full")
        expect_nbd_error(errno.ENOSPC, h.pwrite, b"x" * 512, 32768, what="ENOSPC write")
        h.pwrite(b"x" * 512, 65536)
        h.shutdown()

        h = srv.connect("noflush")
        expect_nbd_error(errno.EPERM, h.flush, what="failing flush")
        h.pwrite(b"y" * 512, 0)
        check(h.pread(512, 0) == b"y" * 512, "I/O after a failed flush")
        h.shutdown()
        srv.check_alive()


nbdtest.main(main)
