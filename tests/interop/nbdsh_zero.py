#!/usr/bin/python3
"""WRITE_ZEROES zeroes exactly its range, with and without NO_HOLE, on
memory and file exports; with FAST_ZERO (advertised for both) it either
zeroes or fails with ENOTSUP, leaving the data as it was."""
import errno
import os
import tempfile

import nbd
import nbdtest
from nbdtest import check

SIZE = 4 << 20


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-zero.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.truncate(SIZE)
        os.chmod(path, 0o666)
        exports = {"mem": {"backend": "memory", "size": SIZE},
                   "file": {"backend": "file", "path": path}}
        with nbdtest.Server(exports) as srv:
            for name in exports:
                h = srv.connect(name)
                check(h.can_zero(), "%s: zero not advertised" % name)
                check(h.can_fast_zero(), "%s: fast zero not advertised" % name)
                fill = bytes(range(256)) * (SIZE // 256)
                h.pwrite(fill, 0)
                cases = [(0, 4096, 0), (8191, 3, 0),
                         (65536, 65536, nbd.CMD_FLAG_NO_HOLE),
                         (200001, 99999, nbd.CMD_FLAG_NO_HOLE),
                         (1 << 20, 1 << 20, 0), (SIZE - 513, 513, 0)]
                for off, n, flags in cases:
                    h.zero(n, off, flags)
                    check(h.pread(n, off) == bytes(n),
                          "%s: zero %d+%d flags %d left data" % (name, off, n, flags))
                    if off > 0:
                        check(h.pread(1, off - 1) == fill[off - 1:off],
                              "%s: zero %d+%d touched the byte before" % (name, off, n))
                    if off + n < SIZE:
                        check(h.pread(1, off + n) == fill[off + n:off + n + 1],
                              "%s: zero %d+%d touched the byte after" % (name, off, n))
                # FAST_ZERO: zero quickly, or refuse with ENOTSUP and
                # change nothing.
                off, n = 2 << 20, 1 << 20
                try:
                    h.zero(n, off, nbd.CMD_FLAG_FAST_ZERO)
                    check(h.pread(n, off) == bytes(n),
                          "%s: FAST_ZERO succeeded but left data" % name)
                except nbd.Error as e:
                    check(nbdtest.nbd_errno(e) == errno.ENOTSUP,
                          "%s: FAST_ZERO failed with %s, not ENOTSUP" % (name, e))
                    check(h.pread(n, off) == fill[off:off + n],
                          "%s: refused FAST_ZERO changed data" % name)
                h.flush()
                h.shutdown()
                if name == "file":
                    with open(path, "rb") as f:
                        img = f.read()
                    for off, n, _ in cases:
                        check(img[off:off + n] == bytes(n),
                              "file: zeroed range %d+%d not zero on disk" % (off, n))


nbdtest.main(main)
