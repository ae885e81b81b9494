#!/usr/bin/python3
"""EXPORT_NAME with NO_ZEROES agreed: exactly size(8) + flags(2) and
nothing else; the next bytes the server sends are a reply to our first
request."""
import struct

import rawnbd
import nbdtest
from nbdtest import check

SIZE = 3 << 20


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": SIZE}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        hflags = c.read_greeting()
        check(hflags & rawnbd.FLAG_NO_ZEROES, "NO_ZEROES not offered")
        c.send_client_flags(rawnbd.FLAG_C_FIXED_NEWSTYLE | rawnbd.FLAG_C_NO_ZEROES)
        c.no_zeroes = True
        size, flags = c.export_name("d")
        check(size == SIZE, "size %d, want %d" % (size, SIZE))
        check(flags & rawnbd.FLAG_HAS_FLAGS, "HAS_FLAGS not set: %#x" % flags)
        c.request(rawnbd.CMD_READ, 0, 8, cookie=0x1122334455667788)
        magic, err, cookie = struct.unpack(">IIQ", c.recv_exact(16))
        check(magic == rawnbd.SIMPLE_REPLY_MAGIC,
              "after EXPORT_NAME came %#x, not a reply (zero padding sent?)" % magic)
        check(err == 0 and cookie == 0x1122334455667788, "reply %d %#x" % (err, cookie))
        check(c.recv_exact(8) == bytes(8), "fresh export not zero")
        c.disconnect()
        check(c.closed_within(5), "no close after DISC")


nbdtest.main(main)
