#!/usr/bin/python3
"""Client flags 0xffffffff (every unknown bit set): the server closes
that connection within 2 s and keeps serving."""
import badinput
import nbdtest
import rawnbd


def case(srv):
    """garbage client flags"""
    c = rawnbd.connect_tcp(srv.port)
    c.read_greeting()
    c.send_client_flags(0xffffffff)
    return c


nbdtest.main(lambda: badinput.run(case))
