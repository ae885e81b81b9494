#!/usr/bin/python3
"""On the wire, after STRUCTURED_REPLY: a READ is answered with
structured chunks only (the last flagged DONE) carrying the data; a
READ past the end with an error chunk holding EINVAL, never a simple
reply; other commands may answer simply; cookies match throughout."""
import struct

import rawnbd
import nbdtest
from nbdtest import check

SIZE = 1 << 20
ERROR_TYPES = (rawnbd.REPLY_TYPE_ERROR, rawnbd.REPLY_TYPE_ERROR_OFFSET)


def read_reply(c, cookie):
    """Chunks until DONE: [(type, payload)], or ('simple', error)."""
    out = []
    while True:
        magic = struct.unpack(">I", c.recv_exact(4))[0]
        if magic == rawnbd.SIMPLE_REPLY_MAGIC:
            err, ck = struct.unpack(">IQ", c.recv_exact(12))
            check(ck == cookie, "simple reply cookie %d" % ck)
            return "simple", err
        check(magic == rawnbd.STRUCTURED_REPLY_MAGIC, "reply magic %#x" % magic)
        flags, rtype, ck, length = struct.unpack(">HHQI", c.recv_exact(16))
        check(ck == cookie, "chunk cookie %d, want %d" % (ck, cookie))
        out.append((rtype, c.recv_exact(length)))
        if flags & rawnbd.REPLY_FLAG_DONE:
            return "chunks", out


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": SIZE}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        c.send_option(rawnbd.OPT_STRUCTURED_REPLY)
        r = c.read_reply()
        check(r.type == rawnbd.REP_ACK, "STRUCTURED_REPLY answered %#x" % r.type)
        check(c.opt_go("d")[-1].type == rawnbd.REP_ACK, "GO")

        c.request(rawnbd.CMD_WRITE, 4096, 8, cookie=1, data=b"12345678")
        kind, res = read_reply(c, 1)
        check(res == 0 if kind == "simple" else
              all(t not in ERROR_TYPES for t, _ in res), "write failed: %r" % (res,))

        c.request(rawnbd.CMD_READ, 4090, 20, cookie=2)
        kind, chunks = read_reply(c, 2)
        check(kind == "chunks", "READ answered with a simple reply")
        data = bytearray(20)
        for t, p in chunks:
            if t == rawnbd.REPLY_TYPE_OFFSET_DATA:
                off = struct.unpack(">Q", p[:8])[0]
                data[off - 4090:off - 4090 + len(p) - 8] = p[8:]
            elif t == rawnbd.REPLY_TYPE_OFFSET_HOLE:
                off, n = struct.unpack(">QI", p)
                data[off - 4090:off - 4090 + n] = bytes(n)
            else:
                check(t == rawnbd.REPLY_TYPE_NONE, "unexpected chunk type %d in a good READ" % t)
        check(bytes(data) == bytes(6) + b"12345678" + bytes(6), "read %r" % bytes(data))

        c.request(rawnbd.CMD_READ, SIZE - 4, 8, cookie=3)
        kind, chunks = read_reply(c, 3)
        check(kind == "chunks", "failing READ answered with a simple reply")
        errs = [p for t, p in chunks if t in ERROR_TYPES]
        check(errs, "READ past the end: no error chunk (%s)" % [t for t, _ in chunks])
        check(struct.unpack(">I", errs[0][:4])[0] == rawnbd.EINVAL,
              "READ past the end: error %d" % struct.unpack(">I", errs[0][:4])[0])

        # Still in step.
        c.request(rawnbd.CMD_FLUSH, cookie=4)
        kind, res = read_reply(c, 4)
        check((kind == "simple" and res == 0) or
              (kind == "chunks" and all(t not in ERROR_TYPES for t, _ in res)),
              "FLUSH after an error: %r" % (res,))
        c.disconnect()
        check(c.closed_within(5), "no close after DISC")


nbdtest.main(main)
