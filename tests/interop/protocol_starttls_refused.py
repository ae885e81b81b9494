#!/usr/bin/python3
"""A server without TLS answers STARTTLS with NBD_REP_ERR_UNSUP or
NBD_REP_ERR_POLICY (the spec's NOTLS mode), never ACK or TLS_REQD, and
the negotiation goes on in plain text."""
import rawnbd
import nbdtest
from nbdtest import check


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        c.send_option(rawnbd.OPT_STARTTLS)
        r = c.read_reply()
        check(r.option == rawnbd.OPT_STARTTLS, "reply for option %d" % r.option)
        check(r.type in (rawnbd.REP_ERR_UNSUP, rawnbd.REP_ERR_POLICY),
              "STARTTLS answered %#x" % r.type)
        check(dict(c.opt_list()) == {"d": ""}, "LIST after STARTTLS")
        check(c.opt_go("d")[-1].type == rawnbd.REP_ACK, "GO after STARTTLS")
        c.disconnect()


nbdtest.main(main)
