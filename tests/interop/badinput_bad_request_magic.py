#!/usr/bin/python3
"""In transmission, a request with a wrong magic: the server cannot find
the next request and closes that connection within 2 s."""
import badinput
import nbdtest
import rawnbd


def case(srv):
    """bad request magic"""
    c = rawnbd.negotiated(srv.port, "d")
    c.request(rawnbd.CMD_READ, 0, 512, cookie=1, magic=0x25609514)
    return c


nbdtest.main(lambda: badinput.run(case))
