#!/usr/bin/python3
"""Unknown command types are answered EINVAL with the request's cookie,
and the connection goes on serving requests."""
import rawnbd
import nbdtest
from nbdtest import check


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        c = rawnbd.negotiated(srv.port, "d")
        err, _ = c.cmd(rawnbd.CMD_WRITE, 0, 4, data=b"keep", cookie=1)
        check(err == 0, "write: %d" % err)
        # 8 (RESIZE, not advertised), 0x55, 0xffff; lengths 0 and 4.
        for i, (cmd, count) in enumerate(((8, 0), (0x55, 0), (0x55, 4),
                                          (0xffff, 512), (0x1000, 0))):
            cookie = 0xc0ffee00 + i
            err, _ = c.cmd(cmd, 0, count, cookie=cookie)
            check(err == rawnbd.EINVAL, "command %#x answered %d, want EINVAL" % (cmd, err))
        err, data = c.cmd(rawnbd.CMD_READ, 0, 4, cookie=99)
        check(err == 0 and data == b"keep", "read after unknown commands: %d %r" % (err, data))
        c.disconnect()
        check(c.closed_within(5), "no close after DISC")


nbdtest.main(main)
