#!/usr/bin/python3
"""Command flags the protocol does not define are answered EINVAL: on a
READ, and on a WRITE whose payload the server must still skip (the
connection stays in step, and nothing is written)."""
import rawnbd
import nbdtest
from nbdtest import check


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        c = rawnbd.negotiated(srv.port, "d")
        for bit in (5, 6, 9, 15):
            err, _ = c.cmd(rawnbd.CMD_READ, 0, 512, flags=1 << bit, cookie=10 + bit)
            check(err == rawnbd.EINVAL, "READ with flag bit %d: %d" % (bit, err))
            payload = b"\xee" * 4096
            err, _ = c.cmd(rawnbd.CMD_WRITE, 0, 4096, flags=1 << bit,
                           cookie=100 + bit, data=payload)
            check(err == rawnbd.EINVAL, "WRITE with flag bit %d: %d" % (bit, err))
            err, data = c.cmd(rawnbd.CMD_READ, 0, 4096, cookie=200 + bit)
            check(err == 0, "READ after refused WRITE: %d" % err)
            check(data == bytes(4096), "a WRITE with unknown flags wrote data")
        c.disconnect()
        check(c.closed_within(5), "no close after DISC")


nbdtest.main(main)
