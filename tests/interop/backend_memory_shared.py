#!/usr/bin/python3
"""The memory backend through nbd-serverd: one memfd made by the master is
shared by every worker, so what one connection writes another reads (and
CAN_MULTI_CONN is advertised), and data outlives the connection that wrote
it. It stays sparse: nbdinfo --map shows exactly the written ranges as
data, reading allocates nothing, and trim gives the pages back. Exports
do not share with each other."""
import json

import nbdtest
from nbdtest import check

SIZE = 64 << 20
HOLE = 3


def extents(srv, export):
    out = nbdtest.run(["nbdinfo", "--map", "--json", srv.uri(export)])
    return [(e["offset"], e["length"], e["type"]) for e in json.loads(out)]


def main():
    nbdtest.need("nbdinfo")
    exports = {"a": {"backend": "memory", "size": "64M"},
               "b": {"backend": "memory", "size": "64M"}}
    with nbdtest.Server(exports) as srv:
        check(extents(srv, "a") == [(0, SIZE, HOLE)],
              "a fresh memory export is not one hole")

        h1 = srv.connect("a")
        h2 = srv.connect("a")
        check(h1.can_multi_conn(), "CAN_MULTI_CONN not advertised")
        check(h1.can_fua() and h1.can_flush() and h1.can_trim(),
              "FLUSH, FUA or TRIM not advertised")
        check(h1.can_fast_zero(), "FAST_ZERO not advertised")
        data = bytes((i * 13) % 256 for i in range(1 << 20))
        h1.pwrite(data, 1 << 20)
        h1.pwrite(b"\x5a" * 4096, SIZE - 4096, 1)   # FUA
        h1.flush()
        check(h2.pread(1 << 20, 1 << 20) == data,
              "another connection does not see the write")
        # Reading holes allocates nothing.
        h2.pread(8 << 20, 16 << 20)
        h1.shutdown()
        h2.shutdown()

        check(extents(srv, "a") == [(0, 1 << 20, HOLE), (1 << 20, 1 << 20, 0),
                                    (2 << 20, SIZE - (2 << 20) - 4096, HOLE),
                                    (SIZE - 4096, 4096, 0)],
              "map is not exactly the written ranges: %s" % extents(srv, "a"))

        # A new connection (a reconnecting client) finds the data.
        h3 = srv.connect("a", unix=True)
        check(h3.pread(1 << 20, 1 << 20) == data, "data lost on reconnect")
        check(h3.pread(4096, SIZE - 4096) == b"\x5a" * 4096,
              "FUA write lost on reconnect")
        # Trim and zero punch the pages out again.
        h3.trim(512 << 10, 1 << 20)
        h3.zero(512 << 10, (3 << 20) // 2)
        h3.zero(4096, SIZE - 4096, 16)              # FAST_ZERO
        check(h3.pread(1 << 20, 1 << 20) == bytes(1 << 20),
              "trimmed and zeroed range does not read zeros")
        h3.shutdown()
        check(extents(srv, "a") == [(0, SIZE, HOLE)],
              "trim/zero did not free the pages: %s" % extents(srv, "a"))

        # Another export is another disk.
        hb = srv.connect("b")
        hb.pwrite(b"\x01" * 4096, 0)
        hb.shutdown()
        check(extents(srv, "a") == [(0, SIZE, HOLE)], "exports share storage")
        srv.check_alive()


if __name__ == "__main__":
    main()
