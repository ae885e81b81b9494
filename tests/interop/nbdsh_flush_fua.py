#!/usr/bin/python3
"""FLUSH succeeds; FUA writes succeed and their data is there for a fresh
connection at once (and in the file itself for a file export)."""
import os
import tempfile

import nbd
import nbdtest
from nbdtest import check

SIZE = 2 << 20


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-fua.") as d:
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
                check(h.can_flush(), "%s: cannot flush" % name)
                check(h.can_fua(), "%s: no FUA" % name)
                h.flush()
                for i, off in enumerate((0, 4096, 100001, SIZE - 512)):
                    data = bytes([0x30 + i]) * 512
                    h.pwrite(data, off, nbd.CMD_FLAG_FUA)
                    other = srv.connect(name)
                    check(other.pread(512, off) == data,
                          "%s: FUA write at %d not seen by another connection"
                          % (name, off))
                    other.shutdown()
                    if name == "file":
                        with open(path, "rb") as f:
                            f.seek(off)
                            check(f.read(512) == data,
                                  "file: FUA write at %d not in the file" % off)
                # Flush with nothing dirty, twice.
                h.flush()
                h.flush()
                # FUA on a zero request too.
                h.zero(4096, 8192, nbd.CMD_FLAG_FUA)
                check(h.pread(4096, 8192) == bytes(4096), "%s: FUA zero" % name)
                h.shutdown()


nbdtest.main(main)
