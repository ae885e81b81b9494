#!/usr/bin/python3
"""INFO answers INFO_EXPORT (size and flags), NAME, DESCRIPTION and
BLOCK_SIZE as configured, then ACK, and leaves the negotiation open; GO
on the same connection answers the same and enters transmission."""
import rawnbd
import nbdtest
from nbdtest import check

SIZE = 6 << 20
EXPORTS = {
    "disk": {"backend": "memory", "size": SIZE, "description": "test disk",
             "min-block-size": 512, "preferred-block-size": "8K",
             "max-block-size": "2M"},
    "other": {"backend": "memory", "size": "1M"},
}


def main():
    with nbdtest.Server(EXPORTS) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        want = [rawnbd.INFO_NAME, rawnbd.INFO_DESCRIPTION, rawnbd.INFO_BLOCK_SIZE]
        infos = []
        for opt in (rawnbd.OPT_INFO, rawnbd.OPT_INFO, rawnbd.OPT_GO):
            replies = c.opt_info("disk", want, option=opt)
            check(replies[-1].type == rawnbd.REP_ACK,
                  "option %d answered %#x" % (opt, replies[-1].type))
            for r in replies[:-1]:
                check(r.type == rawnbd.REP_INFO, "reply type %#x before ACK" % r.type)
            info = rawnbd.parse_info(replies)
            check(rawnbd.INFO_EXPORT in info, "no INFO_EXPORT")
            size, flags = info[rawnbd.INFO_EXPORT]
            check(size == SIZE, "size %d" % size)
            check(flags & rawnbd.FLAG_HAS_FLAGS, "flags %#x lack HAS_FLAGS" % flags)
            check(info.get(rawnbd.INFO_BLOCK_SIZE) == (512, 8192, 2 << 20),
                  "block sizes %s" % (info.get(rawnbd.INFO_BLOCK_SIZE),))
            # NAME and DESCRIPTION are optional answers, but right if given.
            if rawnbd.INFO_NAME in info:
                check(info[rawnbd.INFO_NAME] == "disk", "name %r" % info[rawnbd.INFO_NAME])
            if rawnbd.INFO_DESCRIPTION in info:
                check(info[rawnbd.INFO_DESCRIPTION] == "test disk",
                      "description %r" % info[rawnbd.INFO_DESCRIPTION])
            infos.append(info)
        check(infos[0] == infos[1] == infos[2], "INFO and GO disagree: %s" % infos)
        check(rawnbd.INFO_DESCRIPTION in infos[0],
              "DESCRIPTION asked for and configured, but not sent")
        # In transmission now: requests are served.
        err, _ = c.cmd(rawnbd.CMD_WRITE, 8192, 8192, data=b"\x42" * 8192, cookie=1)
        check(err == 0, "write error %d" % err)
        err, data = c.cmd(rawnbd.CMD_READ, 8192, 8192, cookie=2)
        check(err == 0 and data == b"\x42" * 8192, "read back (error %d)" % err)
        c.disconnect()
        check(c.closed_within(5), "no close after DISC")

        # INFO for one export, then GO for another.
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        c.opt_info("disk")
        replies = c.opt_go("other")
        check(replies[-1].type == rawnbd.REP_ACK, "GO other: %#x" % replies[-1].type)
        check(rawnbd.parse_info(replies)[rawnbd.INFO_EXPORT][0] == 1 << 20,
              "GO after INFO of another export gave the wrong size")
        c.disconnect()


nbdtest.main(main)
