#!/usr/bin/python3
"""A READ larger than the maximum payload is refused without a hang: an
error reply (and the connection still works) or a close, within 2 s;
never the data. Others are served meanwhile. The maximum is the
advertised one (1 MiB here) for a client that asked for block sizes, and
64 MiB for one that never did (EXPORT_NAME, on a 96 MiB export)."""
import select
import struct

import badinput
import nbdtest
import rawnbd
from nbdtest import check


def main():
    with nbdtest.Server(badinput.EXPORTS) as srv:
        cases = [(rawnbd.negotiated, "d", n) for n in ((1 << 20) + 1, 0x80000000, 0xffffffff)]
        cases += [(badinput.unnegotiated, "big", n) for n in ((64 << 20) + 1, 0xffffffff)]
        for connect, name, count in cases:
            c = connect(srv.port, name)
            c.request(rawnbd.CMD_READ, 0, count, cookie=77)
            r, _, _ = select.select([c.sock], [], [], 2)
            check(r, "READ of %d: no reply and no close within 2 s" % count)
            try:
                head = c.recv_exact(16)
            except rawnbd.Closed:
                head = None
            if head is not None:
                magic, err, cookie = struct.unpack(">IIQ", head)
                check(magic == rawnbd.SIMPLE_REPLY_MAGIC, "reply magic %#x" % magic)
                check(cookie == 77, "cookie %d" % cookie)
                check(err != 0, "READ of %d bytes over the maximum succeeded" % count)
                e, data = c.cmd(rawnbd.CMD_READ, 0, 512, cookie=78)
                check(e == 0 and len(data) == 512,
                      "after the refused READ the connection is out of step")
                c.disconnect()
            c.close()
            srv.check_alive()
            badinput.good_client_works(srv)


nbdtest.main(main)
