#!/usr/bin/python3
"""Structured reads (libnbd pread_structured): the chunks cover exactly
the requested range, each once, with the right data (holes read as
zeros); with DF (advertised once structured replies are on) the reply
is one chunk."""
import os

import nbd
import nbdtest
from nbdtest import check

SIZE = 4 << 20


def chunks(h, count, offset, flags=0):
    got = []

    def cb(buf, off, status, err):
        got.append((off, bytes(buf), status))
        return 0

    data = h.pread_structured(count, offset, cb, flags)
    return data, got


def main():
    with nbdtest.Server({"mem": {"backend": "memory", "size": SIZE}}) as srv:
        h = srv.connect("mem")
        check(h.get_structured_replies_negotiated(), "structured replies not negotiated")
        check(h.can_df(), "DF not advertised with structured replies")
        blob = os.urandom(1 << 20)
        h.pwrite(blob, 1 << 20)
        model = bytes(1 << 20) + blob + bytes(SIZE - (2 << 20))
        for off, n in ((0, SIZE), (12345, 1 << 20), ((1 << 20) - 100, 200),
                       (3 << 20, 1 << 20)):
            data, got = chunks(h, n, off)
            check(data == model[off:off + n], "data at %d+%d differ" % (off, n))
            covered = bytearray(n)
            for coff, buf, status in got:
                check(status in (nbd.READ_DATA, nbd.READ_HOLE),
                      "chunk status %d" % status)
                check(off <= coff and coff + len(buf) <= off + n,
                      "chunk %d+%d outside %d+%d" % (coff, len(buf), off, n))
                check(buf == model[coff:coff + len(buf)],
                      "chunk at %d+%d has the wrong data" % (coff, len(buf)))
                for i in range(coff - off, coff - off + len(buf)):
                    check(not covered[i], "byte %d in two chunks" % (off + i))
                    covered[i] = 1
            check(all(covered), "chunks of %d+%d leave gaps" % (off, n))
            data, got = chunks(h, n, off, nbd.CMD_FLAG_DF)
            check(data == model[off:off + n], "DF read at %d+%d differs" % (off, n))
            check(len(got) == 1, "DF read at %d+%d in %d chunks" % (off, n, len(got)))
        h.shutdown()


nbdtest.main(main)
