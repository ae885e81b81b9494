#!/usr/bin/python3
"""ABORT ends the negotiation: the server answers ACK (if it answers at
all) and closes the connection at once; it keeps serving others."""
import select
import struct

import rawnbd
import nbdtest
from nbdtest import check


def main():
    nbdtest.need("nbdinfo")
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        for before in (None, rawnbd.OPT_LIST):
            c = rawnbd.connect_tcp(srv.port)
            c.handshake()
            if before:
                c.opt_list()
            c.send_option(rawnbd.OPT_ABORT)
            r, _, _ = select.select([c.sock], [], [], 2)
            check(r, "no answer and no close within 2 s of ABORT")
            try:
                head = c.sock.recv(20, 0)
            except ConnectionResetError:
                head = b""
            if head:
                head += c.recv_exact(20 - len(head)) if len(head) < 20 else b""
                magic, opt, rtype, length = struct.unpack(">QIII", head)
                check(magic == rawnbd.REP_MAGIC and opt == rawnbd.OPT_ABORT
                      and rtype == rawnbd.REP_ACK and length == 0,
                      "ABORT answered %#x %d %#x %d" % (magic, opt, rtype, length))
            check(c.closed_within(2), "connection open 2 s after ABORT")
            c.close()
        nbdtest.run(["nbdinfo", "--size", srv.uri("d")])
        srv.check_alive()


nbdtest.main(main)
