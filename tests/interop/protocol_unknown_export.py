#!/usr/bin/python3
"""INFO and GO for an export that does not exist are answered
NBD_REP_ERR_UNKNOWN and the negotiation goes on; EXPORT_NAME for one
(which has no error reply) closes the connection."""
import rawnbd
import nbdtest
from nbdtest import check


def main():
    with nbdtest.Server({"real": {"backend": "memory", "size": "1M"}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        for opt in (rawnbd.OPT_INFO, rawnbd.OPT_GO):
            for name in ("nope", "REAL", "real ", "x" * 300):
                replies = c.opt_info(name, option=opt)
                check(len(replies) == 1 and replies[0].type == rawnbd.REP_ERR_UNKNOWN,
                      "option %d for %r answered %s" % (opt, name,
                                                        [hex(r.type) for r in replies]))
        replies = c.opt_go("real")
        check(replies[-1].type == rawnbd.REP_ACK, "GO real: %#x" % replies[-1].type)
        c.disconnect()

        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        c.send_option(rawnbd.OPT_EXPORT_NAME, b"nope")
        check(c.closed_within(2), "EXPORT_NAME of an unknown export did not close")
        srv.check_alive()


nbdtest.main(main)
