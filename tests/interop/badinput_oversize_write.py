#!/usr/bin/python3
"""A WRITE larger than the maximum payload, with no payload following:
the server must not wait for the data; that connection ends within 2 s
(an error reply first is fine). The maximum is the advertised one (1 MiB
here; also 2^32-1 bytes) for a client that asked for block sizes, and
64 MiB for one that never did (EXPORT_NAME, on a 96 MiB export)."""
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


def make_unnegotiated_case(count):
    def case(srv):
        c = badinput.unnegotiated(srv.port, "big")
        c.request(rawnbd.CMD_WRITE, 0, count, cookie=9)
        return c
    case.__doc__ = "WRITE of %d bytes without block sizes" % count
    return case


def main():
    badinput.run(make_case((1 << 20) + 1))
    badinput.run(make_case(0xffffffff))
    badinput.run(make_unnegotiated_case((64 << 20) + 1))
    badinput.run(make_unnegotiated_case(0xffffffff))


nbdtest.main(main)
