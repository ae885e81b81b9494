#!/usr/bin/python3
"""Unknown options (with and without data, several in a row) are answered
NBD_REP_ERR_UNSUP for that option, their data is skipped, and the next
option (GO) still works and leads to a working transmission phase."""
import os

import rawnbd
import nbdtest
from nbdtest import check


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        # 0x1234 and 4 are not options of the protocol; 0x7fffffff neither.
        for opt, data in ((0x1234, b""), (4, b"x" * 7), (0x7fffffff, os.urandom(3000)),
                          (0xdead, b"IHAVEOPT" * 4)):
            c.send_option(opt, data)
            r = c.read_reply()
            check(r.option == opt, "reply for option %d, sent %d" % (r.option, opt))
            check(r.type == rawnbd.REP_ERR_UNSUP,
                  "option %#x answered %#x, want ERR_UNSUP" % (opt, r.type))
        replies = c.opt_go("d")
        check(replies[-1].type == rawnbd.REP_ACK,
              "GO after unknown options answered %#x" % replies[-1].type)
        size, flags = rawnbd.parse_info(replies)[rawnbd.INFO_EXPORT]
        check(size == 1 << 20, "size %d" % size)
        err, _ = c.cmd(rawnbd.CMD_WRITE, 0, 5, data=b"hello", cookie=7)
        check(err == 0, "write error %d" % err)
        err, data = c.cmd(rawnbd.CMD_READ, 0, 5, cookie=8)
        check(err == 0 and data == b"hello", "read back %r (error %d)" % (data, err))
        c.disconnect()
        check(c.closed_within(5), "server did not close after DISC")


nbdtest.main(main)
