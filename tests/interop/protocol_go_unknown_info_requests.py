#!/usr/bin/python3
"""GO and INFO listing information types the server does not know
(0x7777, 0xffff) beside known ones: the unknown ones are ignored, the
known ones answered, INFO_EXPORT always sent, and the reply ends in ACK."""
import rawnbd
import nbdtest
from nbdtest import check


def main():
    exports = {"d": {"backend": "memory", "size": "2M", "description": "dee"}}
    with nbdtest.Server(exports) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        reqs = [0x7777, rawnbd.INFO_DESCRIPTION, 0xffff, rawnbd.INFO_BLOCK_SIZE]
        for opt in (rawnbd.OPT_INFO, rawnbd.OPT_GO):
            replies = c.opt_info("d", reqs, option=opt)
            check(replies[-1].type == rawnbd.REP_ACK,
                  "option %d answered %#x" % (opt, replies[-1].type))
            info = rawnbd.parse_info(replies)
            check(info.get(rawnbd.INFO_EXPORT, (0,))[0] == 2 << 20, "INFO_EXPORT")
            check(rawnbd.INFO_BLOCK_SIZE in info, "BLOCK_SIZE asked for, not sent")
            check(info.get(rawnbd.INFO_DESCRIPTION) == "dee", "DESCRIPTION")
            check(not set(info) - {0, 1, 2, 3}, "unknown info types answered: %s" % set(info))
        err, _ = c.cmd(rawnbd.CMD_READ, 0, 512)
        check(err == 0, "read after GO: %d" % err)
        c.disconnect()


nbdtest.main(main)
