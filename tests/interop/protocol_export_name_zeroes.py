#!/usr/bin/python3
"""EXPORT_NAME without NO_ZEROES: size(8) + flags(2) + 124 zero bytes,
then the transmission phase; the same export with NO_ZEROES gives the
same size and flags."""
import struct

import rawnbd
import nbdtest
from nbdtest import check

SIZE = 5 << 20


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": SIZE}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.read_greeting()
        c.send_client_flags(rawnbd.FLAG_C_FIXED_NEWSTYLE)
        c.no_zeroes = False
        size, flags = c.export_name("d")
        check(size == SIZE, "size %d" % size)
        check(c.zeroes == bytes(124), "the 124 bytes are not all zero")
        c.request(rawnbd.CMD_WRITE, 4096, 4, cookie=3, data=b"abcd")
        magic, err, cookie = struct.unpack(">IIQ", c.recv_exact(16))
        check(magic == rawnbd.SIMPLE_REPLY_MAGIC, "reply magic %#x" % magic)
        check(err == 0 and cookie == 3, "write: error %d cookie %d" % (err, cookie))
        c.disconnect()
        check(c.closed_within(5), "no close after DISC")

        d = rawnbd.connect_tcp(srv.port)
        d.handshake(no_zeroes=True)
        size2, flags2 = d.export_name("d")
        check((size2, flags2) == (size, flags),
              "NO_ZEROES changed size/flags: %s vs %s" % ((size2, flags2), (size, flags)))
        err, data = d.cmd(rawnbd.CMD_READ, 4096, 4, cookie=4)
        check(err == 0 and data == b"abcd", "memory export lost data: %r" % data)
        d.disconnect()


nbdtest.main(main)
