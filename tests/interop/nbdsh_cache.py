#!/usr/bin/python3
"""CACHE is advertised, succeeds anywhere inside the export and changes
no data; past the end it fails with EINVAL."""
import errno
import os
import tempfile

import nbdtest
from nbdtest import check, expect_nbd_error

SIZE = 2 << 20


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-cache.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.write(os.urandom(SIZE))
        os.chmod(path, 0o666)
        exports = {"mem": {"backend": "memory", "size": SIZE},
                   "file": {"backend": "file", "path": path},
                   "nul": {"backend": "null", "size": SIZE}}
        with nbdtest.Server(exports) as srv:
            for name in exports:
                h = srv.connect(name, strict=0)
                check(h.can_cache(), "%s: cache not advertised" % name)
                before = h.pread(SIZE, 0)
                for off, n in ((0, 4096), (4097, 1), (0, SIZE), (SIZE - 1, 1)):
                    h.cache(n, off)
                check(h.pread(SIZE, 0) == before, "%s: cache changed data" % name)
                expect_nbd_error(errno.EINVAL, h.cache, 4096, SIZE - 2048,
                                 what="%s: cache across the end" % name)
                expect_nbd_error(errno.EINVAL, h.cache, 1, SIZE,
                                 what="%s: cache past the end" % name)
                # The connection still works.
                check(h.pread(16, 0) == before[:16], "%s: read after error" % name)
                h.shutdown()


nbdtest.main(main)
