#!/usr/bin/python3
"""A client that connects and sends nothing (and one that stops after the
client flags) is dropped after handshake-timeout (2 s here), not before
and not much later; the server keeps serving others."""
import time

import badinput
import nbdtest
import rawnbd
from nbdtest import check

TIMEOUT = 2


def main():
    with nbdtest.Server(badinput.EXPORTS,
                        server={"handshake-timeout": TIMEOUT}) as srv:
        silent = rawnbd.connect_tcp(srv.port)
        start = time.monotonic()
        halfway = rawnbd.connect_tcp(srv.port)
        halfway.handshake()
        # Meanwhile a normal client negotiates and is served.
        badinput.good_client_works(srv)
        silent.read_greeting()
        for c, what in ((silent, "silent client"), (halfway, "client silent after flags")):
            check(c.closed_within(TIMEOUT + 4), "%s not dropped within %d s" %
                  (what, TIMEOUT + 4))
            took = time.monotonic() - start
            check(took >= TIMEOUT - 0.5, "%s dropped after %.1f s, before the %d s timeout"
                  % (what, took, TIMEOUT))
            print("%s dropped after %.1f s" % (what, took))
        # A client in transmission is not subject to the handshake timeout.
        c = rawnbd.negotiated(srv.port, "d")
        time.sleep(TIMEOUT + 1)
        err, _ = c.cmd(rawnbd.CMD_READ, 0, 512, cookie=3)
        check(err == 0, "idle client in transmission was dropped (%d)" % err)
        c.disconnect()
        srv.check_alive()
        badinput.good_client_works(srv)


nbdtest.main(main)
