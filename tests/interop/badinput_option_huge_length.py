#!/usr/bin/python3
"""GO announcing 2^31 bytes of data (and an unknown option announcing
0xffffffff): the server neither reads nor waits for gigabytes; the
connection ends within 2 s (an error reply first is fine)."""
import struct

import badinput
import nbdtest
import rawnbd


def case_go(srv):
    """GO with 2^31 bytes of data"""
    c = rawnbd.connect_tcp(srv.port)
    c.handshake()
    c.send(struct.pack(">QII", rawnbd.IHAVEOPT, rawnbd.OPT_GO, 1 << 31) +
           struct.pack(">I", 1) + b"d")
    return c


def case_unknown(srv):
    """an unknown option with 0xffffffff bytes of data"""
    c = rawnbd.connect_tcp(srv.port)
    c.handshake()
    c.send(struct.pack(">QII", rawnbd.IHAVEOPT, 0x4242, 0xffffffff) + b"x" * 64)
    return c


def main():
    badinput.run(case_go)
    badinput.run(case_unknown)


nbdtest.main(main)
