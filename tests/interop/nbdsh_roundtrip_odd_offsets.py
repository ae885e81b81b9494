#!/usr/bin/python3
"""Writes at odd offsets and lengths (crossing 512 and 4096 boundaries,
the first and the last byte) read back exactly, on memory and file
exports, over TCP and Unix; the whole image matches a model in memory,
also from a fresh connection."""
import os
import random
import tempfile

import nbdtest
from nbdtest import check

SIZE = 4 << 20


def exercise(h, label, rng):
    model = bytearray(SIZE)
    h.pwrite(bytes(SIZE), 0)
    spots = [(0, 1), (1, 3), (511, 2), (4095, 4098), (SIZE - 1, 1),
             (SIZE - 4097, 4097), (12345, 67891), (1 << 20, 1), (777, 1 << 20)]
    for _ in range(40):
        off = rng.randrange(SIZE)
        spots.append((off, rng.randrange(1, min(SIZE - off, 200000) + 1)))
    for off, n in spots:
        data = rng.randbytes(n)
        h.pwrite(data, off)
        model[off:off + n] = data
        back = h.pread(n, off)
        check(back == data, "%s: read-back at %d+%d differs" % (label, off, n))
    # Odd-sized reads of areas written in several pieces.
    for _ in range(40):
        off = rng.randrange(SIZE)
        n = rng.randrange(1, min(SIZE - off, 300000) + 1)
        check(h.pread(n, off) == model[off:off + n],
              "%s: read %d+%d does not match what was written" % (label, off, n))
    return model


def whole(h):
    out = bytearray()
    for off in range(0, SIZE, 1 << 20):
        out += h.pread(min(1 << 20, SIZE - off), off)
    return out


def main():
    rng = random.Random(20240601)
    with tempfile.TemporaryDirectory(prefix="cnbd-rt.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.truncate(SIZE)
        os.chmod(path, 0o666)
        exports = {"mem": {"backend": "memory", "size": SIZE},
                   "file": {"backend": "file", "path": path}}
        with nbdtest.Server(exports) as srv:
            for name in exports:
                for unix in (False, True):
                    label = "%s over %s" % (name, "unix" if unix else "tcp")
                    h = srv.connect(name, unix=unix)
                    check(h.get_size() == SIZE, "%s: size %d" % (label, h.get_size()))
                    model = exercise(h, label, rng)
                    h.flush()
                    h.shutdown()
                    h2 = srv.connect(name, unix=not unix)
                    check(whole(h2) == model,
                          "%s: image differs from a fresh connection" % label)
                    h2.shutdown()
                    if name == "file":
                        with open(path, "rb") as f:
                            check(f.read() == model,
                                  "%s: the file on disk differs" % label)


nbdtest.main(main)
