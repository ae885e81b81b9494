#!/usr/bin/python3
"""The flush barrier that CAN_MULTI_CONN promises, under load: four
connections each keep 32 writes in flight (libnbd aio) over their own
stripes; once every write is acknowledged, one FLUSH on any connection
must make all of them visible to a fresh connection, byte for byte.
Checked on a memory and a file export."""
import hashlib
import os
import tempfile

import nbd

import nbdtest
from nbdtest import check

SIZE = 16 << 20
BS = 64 << 10
CONNS = 4
DEPTH = 32


def block(i):
    return hashlib.sha256(b"%d" % i).digest() * (BS // 32)


def write_stripes(handles):
    pending = []
    for c, h in enumerate(handles):
        for i in range(c, SIZE // BS, CONNS):
            while h.aio_in_flight() >= DEPTH:
                h.poll(-1)
            pending.append((h, h.aio_pwrite(block(i), i * BS)))
    for h, cookie in pending:
        while not h.aio_command_completed(cookie):
            h.poll(-1)


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-mc.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.truncate(SIZE)
        os.chmod(path, 0o666)
        exports = {"mem": {"backend": "memory", "size": SIZE},
                   "file": {"backend": "file", "path": path}}
        with nbdtest.Server(exports) as srv:
            for name in exports:
                handles = [srv.connect(name) for _ in range(CONNS)]
                check(all(h.can_multi_conn() for h in handles),
                      "%s: CAN_MULTI_CONN not advertised" % name)
                write_stripes(handles)
                handles[-1].flush()
                fresh = srv.connect(name)
                for i in range(SIZE // BS):
                    check(fresh.pread(BS, i * BS) == block(i),
                          "%s: block %d missing after the flush" % (name, i))
                for h in handles + [fresh]:
                    h.shutdown()


nbdtest.main(main)
