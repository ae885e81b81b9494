#!/usr/bin/python3
"""Malformed INFO and GO data (a name length beyond the data, an odd
number of request bytes, trailing junk, a request count larger than the
requests sent) is answered NBD_REP_ERR_INVALID, and the negotiation
goes on: a proper GO afterwards works."""
import struct

import rawnbd
import nbdtest
from nbdtest import check

CASES = [
    ("name length beyond the data", struct.pack(">I", 50) + b"d" + struct.pack(">H", 0)),
    ("no request count", struct.pack(">I", 1) + b"d"),
    ("3 requests announced, 1 sent", struct.pack(">I", 1) + b"d" + struct.pack(">HH", 3, 0)),
    ("trailing junk", struct.pack(">I", 1) + b"d" + struct.pack(">H", 0) + b"junk!"),
    ("a name with a NUL in it", struct.pack(">I", 3) + b"d\0x" + struct.pack(">H", 0)),
    ("empty data", b""),
]


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        for opt in (rawnbd.OPT_INFO, rawnbd.OPT_GO):
            for what, data in CASES:
                c.send_option(opt, data)
                r = c.read_reply()
                check(r.option == opt, "reply for option %d" % r.option)
                check(r.type == rawnbd.REP_ERR_INVALID,
                      "option %d with %s answered %#x, want ERR_INVALID" % (opt, what, r.type))
        replies = c.opt_go("d")
        check(replies[-1].type == rawnbd.REP_ACK, "GO afterwards: %#x" % replies[-1].type)
        c.disconnect()
        check(c.closed_within(5), "no close after DISC")


nbdtest.main(main)
