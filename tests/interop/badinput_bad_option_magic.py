#!/usr/bin/python3
"""An option whose magic is not IHAVEOPT: the server closes within 2 s."""
import struct

import badinput
import nbdtest
import rawnbd


def case(srv):
    """bad option magic"""
    c = rawnbd.connect_tcp(srv.port)
    c.handshake()
    c.send(struct.pack(">QII", 0x1122334455667788, rawnbd.OPT_LIST, 0))
    return c


nbdtest.main(lambda: badinput.run(case))
