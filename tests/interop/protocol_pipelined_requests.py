#!/usr/bin/python3
"""Many requests sent at once on one connection (reads, writes, flushes,
zeroes) each get exactly one reply with their cookie, in any order, and
reads return the data of writes answered before them."""
import os
import struct

import rawnbd
import nbdtest
from nbdtest import check

BS = 4096
N = 128


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": N * BS}}) as srv:
        c = rawnbd.negotiated(srv.port, "d")
        blocks = [os.urandom(BS) for _ in range(N)]
        msg = b"".join(struct.pack(">IHHQQI", rawnbd.REQUEST_MAGIC, 0,
                                   rawnbd.CMD_WRITE, i, i * BS, BS) + blocks[i]
                       for i in range(N))
        msg += struct.pack(">IHHQQI", rawnbd.REQUEST_MAGIC, 0,
                           rawnbd.CMD_FLUSH, 5000, 0, 0)
        c.send(msg)
        seen = set()
        for _ in range(N + 1):
            err, cookie, _ = c.read_simple_reply()
            check(err == 0, "request %d failed: %d" % (cookie, err))
            check(cookie not in seen, "two replies for cookie %d" % cookie)
            seen.add(cookie)
        check(seen == set(range(N)) | {5000}, "missing replies")

        # Now N reads at once, each told apart by its cookie.
        c.send(b"".join(struct.pack(">IHHQQI", rawnbd.REQUEST_MAGIC, 0,
                                    rawnbd.CMD_READ, 0x10000 + i, i * BS, BS)
                        for i in range(N)))
        got = {}
        for _ in range(N):
            err, cookie, data = c.read_simple_reply(BS)
            check(err == 0, "read %#x failed: %d" % (cookie, err))
            got[cookie - 0x10000] = data
        for i in range(N):
            check(got.get(i) == blocks[i], "read %d returned other data" % i)
        c.disconnect()


nbdtest.main(main)
