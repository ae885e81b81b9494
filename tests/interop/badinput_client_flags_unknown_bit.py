#!/usr/bin/python3
"""Valid client flags plus one bit the protocol does not define (bit 7):
the server closes that connection within 2 s and keeps serving."""
import badinput
import nbdtest
import rawnbd


def case(srv):
    """an unknown client flag bit"""
    c = rawnbd.connect_tcp(srv.port)
    c.read_greeting()
    c.send_client_flags(rawnbd.FLAG_C_FIXED_NEWSTYLE | rawnbd.FLAG_C_NO_ZEROES | 1 << 7)
    return c


nbdtest.main(lambda: badinput.run(case))
