#!/usr/bin/python3
"""Half an option header (IHAVEOPT and 2 bytes) and then no more data
(half-close): the server closes within 2 s."""
import socket
import struct

import badinput
import nbdtest
import rawnbd


def case(srv):
    """a truncated option header"""
    c = rawnbd.connect_tcp(srv.port)
    c.handshake()
    c.send(struct.pack(">Q", rawnbd.IHAVEOPT) + b"\0\0")
    c.sock.shutdown(socket.SHUT_WR)
    return c


nbdtest.main(lambda: badinput.run(case))
