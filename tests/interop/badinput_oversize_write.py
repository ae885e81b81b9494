#!/usr/bin/python3
"""A WRITE larger than the advertised maximum payload (1 MiB here; also
2^32-1 bytes), with no payload following: the server must not wait for
the data; that connection ends within 2 s (an error reply first is
fine)."""
import badinput
import nbdtest
import rawnbd
from nbdtest import check


def make_case(count):
    def case(srv):
        c = rawnbd.negotiated(srv.port, "d")
        check(c.info.get(rawnbd.INFO_BLOCK_SIZE, (0, 0, 0))[2] == 1 << 20,
              "max payload %s, config says 1M" % (c.info.get(rawnbd.INFO_BLOCK_SIZE),))
        c.request(rawnbd.CMD_WRITE, 0, count, cookie=9)
        return c
    case.__doc__ = "WRITE of %d bytes" % count
    return case


def main():
    badinput.run(make_case((1 << 20) + 1))
    badinput.run(make_case(0xffffffff))


nbdtest.main(main)
