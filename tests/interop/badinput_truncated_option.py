#!/usr/bin/python3
"""An option that announces 100 bytes of data and sends 10 before the
client stops sending (half-close): the server closes within 2 s."""
import socket
import struct

import badinput
import nbdtest
import rawnbd


def case(srv):
    """a truncated option"""
    c = rawnbd.connect_tcp(srv.port)
    c.handshake()
    c.send(struct.pack(">QII", rawnbd.IHAVEOPT, rawnbd.OPT_GO, 100) + b"\0" * 10)
    c.sock.shutdown(socket.SHUT_WR)
    return c


nbdtest.main(lambda: badinput.run(case))
