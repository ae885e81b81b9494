#!/usr/bin/python3
"""base:allocation block status (libnbd): extents start at the requested
offset, are contiguous and cover no more than asked; written data is
never reported as reading zero; ranges reported ZERO do read as zeros;
REQ_ONE gives exactly one extent; a fresh sparse export (memory, a
truncated file) reports holes. Checked on memory and file exports."""
import os
import tempfile

import nbd
import nbdtest
from nbdtest import check

SIZE = 8 << 20
STATE_HOLE = 1
STATE_ZERO = 2


def extents(h, count, offset, flags=0):
    got = []

    def cb(context, off, entries, err):
        check(context == "base:allocation", "context %r" % context)
        got.append((off, list(entries)))
        return 0

    h.block_status(count, offset, cb, flags)
    check(len(got) == 1, "%d block status replies for one context" % len(got))
    off, entries = got[0]
    check(off == offset, "extents start at %d, asked for %d" % (off, offset))
    out = []
    pos = offset
    for i in range(0, len(entries), 2):
        length, flags_ = entries[i], entries[i + 1]
        check(length > 0, "zero-length extent")
        out.append((pos, length, flags_))
        pos += length
    check(out, "no extents")
    return out


def check_map(h, name, written):
    for off, count in ((0, SIZE), (4096, 1 << 20), (3 << 20, 5 << 20)):
        ex = extents(h, count, off)
        end = ex[-1][0] + ex[-1][1]
        check(end <= off + count or len(ex) == 1,
              "%s: extents run past the request (%d > %d)" % (name, end, off + count))
        for pos, length, fl in ex:
            for woff, wlen in written:
                overlap = pos < woff + wlen and woff < pos + length
                check(not (overlap and fl & STATE_ZERO),
                      "%s: written data at %d+%d reported as zero (%d+%d flags %d)"
                      % (name, woff, wlen, pos, length, fl))
            if fl & STATE_ZERO:
                n = min(length, 1 << 20, off + count - pos)
                if n > 0:
                    check(h.pread(n, pos) == bytes(n),
                          "%s: %d+%d reported zero but is not" % (name, pos, n))
    one = extents(h, SIZE, 0, nbd.CMD_FLAG_REQ_ONE)
    check(len(one) == 1, "%s: REQ_ONE gave %d extents" % (name, len(one)))


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-bs.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.truncate(SIZE)
        os.chmod(path, 0o666)
        exports = {"mem": {"backend": "memory", "size": SIZE},
                   "file": {"backend": "file", "path": path}}
        with nbdtest.Server(exports) as srv:
            for name in exports:
                h = nbd.NBD()
                h.add_meta_context("base:allocation")
                h.set_export_name(name)
                h.connect_tcp("127.0.0.1", str(srv.port))
                check(h.can_meta_context("base:allocation"),
                      "%s: base:allocation not negotiated" % name)
                # Fresh and sparse: all of it a hole that reads as zero.
                ex = extents(h, SIZE, 0)
                for pos, length, fl in ex:
                    check(fl == STATE_HOLE | STATE_ZERO,
                          "%s: fresh export has %d+%d flags %d" % (name, pos, length, fl))
                written = [(1 << 20, 65536), (5 << 20, (3 << 20) // 2)]
                for off, n in written:
                    h.pwrite(os.urandom(n), off)
                h.trim(1 << 20, 3 << 20)
                check_map(h, name, written)
                h.shutdown()


nbdtest.main(main)
