# SPDX-License-Identifier: MIT
"""Shared frame of the badinput_* tests: a server with one memory export;
the misbehaving client must lose its connection within a limit while the
server lives on and serves a fresh, well-behaved client at once."""
import time

import nbdtest
import rawnbd
from nbdtest import check

EXPORTS = {"d": {"backend": "memory", "size": "1M", "max-block-size": "1M"},
           # Larger than what a client that never asked for block sizes
           # may send (64 MiB): requests past that are refused for their
           # length, not for reaching past the end.
           "big": {"backend": "memory", "size": "96M"}}


def unnegotiated(port, export):
    """A raw client in transmission by EXPORT_NAME: it never asked for
    block sizes."""
    c = rawnbd.connect_tcp(port)
    c.handshake()
    c.export_name(export)
    return c


def good_client_works(srv):
    c = rawnbd.negotiated(srv.port, "d")
    err, _ = c.cmd(rawnbd.CMD_WRITE, 0, 3, data=b"ok!", cookie=1)
    check(err == 0, "fresh client: write failed (%d)" % err)
    err, data = c.cmd(rawnbd.CMD_READ, 0, 3, cookie=2)
    check(err == 0 and data == b"ok!", "fresh client: read %r (%d)" % (data, err))
    c.disconnect()
    c.close()


def expect_closed(c, within, what):
    start = time.monotonic()
    check(c.closed_within(within), "%s: connection still open after %.1f s" %
          (what, within))
    return time.monotonic() - start


def run(case, server=None, within=2.0):
    """case(srv) returns the connection that must be closed."""
    with nbdtest.Server(EXPORTS, server=server) as srv:
        # A well-behaved client holds a connection across the bad one:
        # only the bad connection may end.
        bystander = rawnbd.negotiated(srv.port, "d")
        c = case(srv)
        took = expect_closed(c, within, case.__doc__ or case.__name__)
        print("closed after %.2f s" % took)
        c.close()
        srv.check_alive()
        err, _ = bystander.cmd(rawnbd.CMD_READ, 0, 512, cookie=5)
        check(err == 0, "the bystander connection broke (%d)" % err)
        bystander.disconnect()
        good_client_works(srv)
        srv.check_alive()
