# SPDX-License-Identifier: MIT
"""Shared frame of the badinput_* tests: a server with one memory export;
the misbehaving client must lose its connection within a limit while the
server lives on and serves a fresh, well-behaved client at once."""
import time

import nbdtest
import rawnbd
from nbdtest import check

EXPORTS = {"d": {"backend": "memory", "size": "1M", "max-block-size": "1M"}}


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
