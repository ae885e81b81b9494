#!/usr/bin/python3
"""The greeting is fixed newstyle: NBDMAGIC, IHAVEOPT and handshake flags
FIXED_NEWSTYLE | NO_ZEROES with no other bits, on TCP and Unix."""
import rawnbd
import nbdtest
from nbdtest import check


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        for c in (rawnbd.connect_tcp(srv.port), rawnbd.connect_unix(srv.sock)):
            hflags = c.read_greeting()
            check(hflags == rawnbd.FLAG_FIXED_NEWSTYLE | rawnbd.FLAG_NO_ZEROES,
                  "handshake flags %#x" % hflags)
            c.close()


nbdtest.main(main)
