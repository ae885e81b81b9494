#!/usr/bin/python3
"""LIST carries no data: a LIST with data is answered NBD_REP_ERR_INVALID
(its data skipped), and the next option still works."""
import rawnbd
import nbdtest
from nbdtest import check


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        c.send_option(rawnbd.OPT_LIST, b"unexpected")
        r = c.read_reply()
        check(r.option == rawnbd.OPT_LIST and r.type == rawnbd.REP_ERR_INVALID,
              "LIST with data answered %#x" % r.type)
        check(dict(c.opt_list()) == {"d": ""}, "LIST afterwards")
        check(c.opt_go("d")[-1].type == rawnbd.REP_ACK, "GO afterwards")
        c.disconnect()


nbdtest.main(main)
