#!/usr/bin/python3
"""One send of many requests (memory backend: served inline, the replies of
a burst gathered into one writev) mixing 4 KiB reads, reads past the end
(structured error chunks with a message), a 128 KiB read (sent from the
memfd with sendfile, between batched replies) and a write, ended by DISC
in the same send: every reply arrives whole with its data before the
server closes."""
import os
import struct

import rawnbd
import nbdtest
from nbdtest import check

BS = 4096
SIZE = 1 << 20
BIG = 128 * 1024


def read_reply(c):
    """(cookie, [(type, payload)]) of one structured reply."""
    chunks, cookie = [], None
    while True:
        magic = struct.unpack(">I", c.recv_exact(4))[0]
        check(magic == rawnbd.STRUCTURED_REPLY_MAGIC, "reply magic %#x" % magic)
        flags, rtype, ck, length = struct.unpack(">HHQI", c.recv_exact(16))
        check(cookie in (None, ck), "chunks of two replies interleaved")
        cookie = ck
        chunks.append((rtype, c.recv_exact(length)))
        if flags & rawnbd.REPLY_FLAG_DONE:
            return cookie, chunks


def req(cmd, cookie, offset, count, data=b""):
    return struct.pack(">IHHQQI", rawnbd.REQUEST_MAGIC, 0, cmd, cookie,
                       offset, count) + data


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": SIZE}}) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        c.send_option(rawnbd.OPT_STRUCTURED_REPLY)
        check(c.read_reply().type == rawnbd.REP_ACK, "STRUCTURED_REPLY")
        check(c.opt_go("d")[-1].type == rawnbd.REP_ACK, "GO")
        image = os.urandom(SIZE)
        for off in range(0, SIZE, BIG):
            c.request(rawnbd.CMD_WRITE, off, BIG, cookie=1, data=image[off:off + BIG])
            cookie, chunks = read_reply(c)
            check(cookie == 1 and chunks[0][0] == rawnbd.REPLY_TYPE_NONE, "fill write")

        want = {}
        msg = b""
        for i in range(40):
            if i % 7 == 3:
                msg += req(rawnbd.CMD_READ, 100 + i, SIZE - BS // 2, BS)
                want[100 + i] = "error"
            elif i == 20:
                msg += req(rawnbd.CMD_READ, 100 + i, 3 * BIG, BIG)
                want[100 + i] = image[3 * BIG:4 * BIG]
            elif i == 30:
                msg += req(rawnbd.CMD_WRITE, 100 + i, 5 * BS, BS, b"w" * BS)
                want[100 + i] = "done"
            else:
                msg += req(rawnbd.CMD_READ, 100 + i, i * BS, BS)
                want[100 + i] = image[i * BS:(i + 1) * BS]
        c.send(msg + req(rawnbd.CMD_DISC, 0xd15c, 0, 0))

        for _ in range(len(want)):
            cookie, chunks = read_reply(c)
            check(cookie in want, "reply for unknown cookie %d" % cookie)
            w = want.pop(cookie)
            rtype, payload = chunks[-1]
            if w == "error":
                check(rtype == rawnbd.REPLY_TYPE_ERROR, "past-end read: chunk %d" % rtype)
                err, mlen = struct.unpack(">IH", payload[:6])
                check(err == 22 and mlen == len(payload) - 6 and mlen > 0,
                      "error chunk %r" % payload)
            elif w == "done":
                check(rtype == rawnbd.REPLY_TYPE_NONE, "write: chunk %d" % rtype)
            else:
                check(rtype == rawnbd.REPLY_TYPE_OFFSET_DATA, "read: chunk %d" % rtype)
                check(payload[8:] == w, "read %d returned other data" % cookie)
        check(not want, "no reply for %s" % sorted(want))
        check(c.closed_within(5), "server did not close after DISC")


nbdtest.main(main)
