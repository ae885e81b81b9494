#!/usr/bin/python3
"""DISC right behind a batch of writes: every write is answered before
the server closes, DISC itself gets no reply, and a fresh connection
reads all the data."""
import os
import struct

import rawnbd
import nbdtest
from nbdtest import check

N = 64
BS = 64 * 1024


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": N * BS}}) as srv:
        c = rawnbd.negotiated(srv.port, "d")
        blocks = [os.urandom(BS) for _ in range(N)]
        msg = b"".join(struct.pack(">IHHQQI", rawnbd.REQUEST_MAGIC, 0,
                                   rawnbd.CMD_WRITE, 1000 + i, i * BS, BS) + blocks[i]
                       for i in range(N))
        msg += struct.pack(">IHHQQI", rawnbd.REQUEST_MAGIC, 0, rawnbd.CMD_DISC,
                           0xd15c, 0, 0)
        c.send(msg)
        cookies = set()
        for _ in range(N):
            err, cookie, _ = c.read_simple_reply()
            check(err == 0, "write %d failed: %d" % (cookie, err))
            cookies.add(cookie)
        check(cookies == set(range(1000, 1000 + N)), "cookies %s" % sorted(cookies))
        check(c.closed_within(5), "DISC: server sent more or did not close")

        d = rawnbd.negotiated(srv.port, "d")
        for i in range(N):
            err, data = d.cmd(rawnbd.CMD_READ, i * BS, BS, cookie=i)
            check(err == 0 and data == blocks[i], "block %d lost" % i)
        d.disconnect()


nbdtest.main(main)
