#!/usr/bin/python3
"""A readonly = true export advertises READ_ONLY and answers writes,
trims and write-zeroes with EPERM (libnbd's own checks off, so the server
answers); reads, flush and cache still work and nothing changes."""
import errno
import os
import tempfile

import nbd
import nbdtest
from nbdtest import check, expect_nbd_error

SIZE = 1 << 20


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-ro.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        content = os.urandom(SIZE)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, 0o666)
        exports = {"file-ro": {"backend": "file", "path": path, "readonly": True},
                   "mem-ro": {"backend": "memory", "size": SIZE, "readonly": True}}
        with nbdtest.Server(exports) as srv:
            for name in exports:
                h = srv.connect(name, strict=0)
                check(h.is_read_only(), "%s: READ_ONLY not advertised" % name)
                before = h.pread(SIZE, 0)
                if name == "file-ro":
                    check(before == content, "file-ro: reads differ from the file")
                for off, n in ((0, 512), (4095, 3), (SIZE - 4096, 4096)):
                    expect_nbd_error(errno.EPERM, h.pwrite, b"\x01" * n, off,
                                     what="%s: write %d+%d" % (name, off, n))
                    expect_nbd_error(errno.EPERM, h.pwrite, b"\x01" * n, off,
                                     nbd.CMD_FLAG_FUA,
                                     what="%s: FUA write %d+%d" % (name, off, n))
                    expect_nbd_error(errno.EPERM, h.trim, n, off,
                                     what="%s: trim %d+%d" % (name, off, n))
                    expect_nbd_error(errno.EPERM, h.zero, n, off,
                                     what="%s: zero %d+%d" % (name, off, n))
                if h.can_flush():
                    h.flush()
                if h.can_cache():
                    h.cache(4096, 0)
                check(h.pread(SIZE, 0) == before, "%s: data changed" % name)
                h.shutdown()
        with open(path, "rb") as f:
            check(f.read() == content, "the read-only file was modified")


nbdtest.main(main)
