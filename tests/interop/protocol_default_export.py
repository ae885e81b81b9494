#!/usr/bin/python3
"""The empty export name means default-export from the config: GO and
INFO with "" and EXPORT_NAME "" reach that export."""
import rawnbd
import nbdtest
from nbdtest import check

EXPORTS = {"first": {"backend": "memory", "size": "1M"},
           "chosen": {"backend": "memory", "size": "3M"}}


def main():
    with nbdtest.Server(EXPORTS, server={"default-export": "chosen"}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        for opt in (rawnbd.OPT_INFO, rawnbd.OPT_GO):
            replies = c.opt_info("", option=opt)
            check(replies[-1].type == rawnbd.REP_ACK,
                  "option %d with \"\" answered %#x" % (opt, replies[-1].type))
            size = rawnbd.parse_info(replies)[rawnbd.INFO_EXPORT][0]
            check(size == 3 << 20, "default export size %d, want 3 MiB" % size)
        c.disconnect()

        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        size, _ = c.export_name("")
        check(size == 3 << 20, "EXPORT_NAME \"\" size %d" % size)
        c.disconnect()


nbdtest.main(main)
