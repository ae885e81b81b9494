#!/usr/bin/python3
"""After TRIM, memory and file exports read zeros there (both punch
holes), and only there: the bytes around the trimmed range are kept."""
import os
import tempfile

import nbdtest
from nbdtest import check

SIZE = 4 << 20


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-trim.") as d:
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
                check(h.can_trim(), "%s: trim not advertised" % name)
                fill = b"\xa5" * SIZE
                h.pwrite(fill, 0)
                # Aligned, a whole MiB, and the very end.
                for off, n in ((65536, 65536), (1 << 20, 1 << 20),
                               (SIZE - 4096, 4096)):
                    h.trim(n, off)
                    check(h.pread(n, off) == bytes(n),
                          "%s: trim %d+%d does not read zeros" % (name, off, n))
                    check(h.pread(4096, off - 4096) == fill[:4096],
                          "%s: data before trim %d+%d lost" % (name, off, n))
                    if off + n < SIZE:
                        check(h.pread(4096, off + n) == fill[:4096],
                              "%s: data after trim %d+%d lost" % (name, off, n))
                h.flush()
                h.shutdown()
                # A fresh connection sees the same.
                h = srv.connect(name)
                check(h.pread(65536, 65536) == bytes(65536),
                      "%s: trimmed range not zero on reconnect" % name)
                check(h.pread(4096, 0) == fill[:4096],
                      "%s: untouched data changed" % name)
                h.shutdown()


nbdtest.main(main)
