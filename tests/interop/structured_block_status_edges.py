#!/usr/bin/python3
"""Block status at the edges (libnbd, strict mode off so the server is
the one checked): a range reaching exactly the end is answered; one
crossing the end, or starting past it, gets EINVAL; an unknown meta
context is not negotiated and BLOCK_STATUS then gets EINVAL, while the
connection keeps working."""
import errno

import nbd

import nbdtest
from nbdtest import check, expect_nbd_error

SIZE = 4 << 20


def connect(srv, contexts):
    h = nbd.NBD()
    h.set_strict_mode(0)
    for c in contexts:
        h.add_meta_context(c)
    h.set_export_name("mem")
    h.connect_tcp("127.0.0.1", str(srv.port))
    return h


def no_callback(context, off, entries, err):
    return 0


def main():
    with nbdtest.Server({"mem": {"backend": "memory", "size": SIZE}}) as srv:
        h = connect(srv, ["base:allocation"])
        h.pwrite(b"x" * 4096, SIZE - 4096)
        seen = []
        h.block_status(8192, SIZE - 8192,
                       lambda c, off, e, err: seen.append(list(e)) or 0)
        check(seen and sum(seen[0][0::2]) <= 8192,
              "block status up to the end: %r" % seen)
        expect_nbd_error(errno.EINVAL, h.block_status, 8192, SIZE - 4096, no_callback,
                         what="block status crossing the end")
        expect_nbd_error(errno.EINVAL, h.block_status, 4096, SIZE, no_callback,
                         what="block status starting at the end")
        check(h.pread(4096, SIZE - 4096) == b"x" * 4096,
              "the connection is unusable after refused block status")
        h.shutdown()

        u = connect(srv, ["nosuch:context"])
        check(not u.can_meta_context("nosuch:context"),
              "an unknown meta context was negotiated")
        expect_nbd_error(errno.EINVAL, u.block_status, 4096, 0, no_callback,
                         what="block status with no context negotiated")
        check(u.pread(4096, SIZE - 4096) == b"x" * 4096,
              "the connection is unusable after a refused block status")
        u.shutdown()


nbdtest.main(main)
