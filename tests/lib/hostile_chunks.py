#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A fake NBD server whose replies in transmission are wrong on purpose,
for the tests of what the public client API (<cnbd/client.h>) trusts of a
server. It negotiates like a good server (structured replies, the
base:allocation context as id 7, a 1 MiB export), and then answers READ
and BLOCK_STATUS as the export's name says:

    good          one OFFSET_DATA chunk (byte i of the disk is i % 251)
    pieces        the same bytes in 512-byte OFFSET_DATA chunks, out of
                  order, with the zero parts as OFFSET_HOLE: still right
    data_outside  OFFSET_DATA at an offset past the request
    data_huge     an OFFSET_DATA header claiming 4 GiB, then silence
    hole_outside  an OFFSET_HOLE reaching past the request
    short_cover   half the data, then DONE
    status_huge   a BLOCK_STATUS header claiming 4 GiB, then silence
    bad_meta_id   BLOCK_STATUS for a context id never granted
    unknown_type  a chunk of a non-error type nobody defined
    error_long    an error chunk whose message overruns the chunk
    error_text    an EIO error chunk saying "disk on fire" (legitimate)
    wrong_cookie  a simple reply for a cookie never sent
    close_mid     a simple reply header and half the data, then close
    silent        no reply at all

usage: hostile_chunks.py PORTFILE   (writes "PORT SILENT_PORT" there;
SILENT_PORT listens and never accepts: a server that never greets)
"""
import os
import socket
import struct
import sys
import threading

NBDMAGIC, IHAVEOPT = 0x4E42444D41474943, 0x49484156454F5054
REP_MAGIC, REQ_MAGIC = 0x0003E889045565A9, 0x25609513
SIMPLE, STRUCTURED = 0x67446698, 0x668E33EF
OPT_GO, OPT_STRUCTURED, OPT_SET_META = 7, 8, 10
REP_ACK, REP_INFO, REP_META = 1, 3, 4
REP_ERR_UNSUP = (1 << 31) | 1
CMD_READ, CMD_DISC, CMD_BLOCK_STATUS = 0, 2, 7
DONE = 1
T_DATA, T_HOLE, T_STATUS, T_ERROR = 1, 2, 5, (1 << 15) + 1
SIZE = 1 << 20
META_ID = 7


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        got = s.recv(n - len(buf))
        if not got:
            raise EOFError
        buf += got
    return buf


def opt_reply(s, opt, rtype, data=b""):
    s.sendall(struct.pack(">QIII", REP_MAGIC, opt, rtype, len(data)) + data)


def chunk(s, flags, ctype, cookie, payload, length=None):
    n = len(payload) if length is None else length
    s.sendall(struct.pack(">IHHQI", STRUCTURED, flags, ctype, cookie, n) + payload)


def disk(off, n):
    return bytes((off + i) % 251 for i in range(n))


def negotiate(s):
    s.sendall(struct.pack(">QQH", NBDMAGIC, IHAVEOPT, 3))
    recv_exact(s, 4)
    while True:
        _, opt, n = struct.unpack(">QII", recv_exact(s, 16))
        data = recv_exact(s, n)
        if opt == OPT_STRUCTURED:
            opt_reply(s, opt, REP_ACK)
        elif opt == OPT_SET_META:
            opt_reply(s, opt, REP_META, struct.pack(">I", META_ID) + b"base:allocation")
            opt_reply(s, opt, REP_ACK)
        elif opt == OPT_GO:
            (namelen,) = struct.unpack(">I", data[:4])
            opt_reply(s, opt, REP_INFO, struct.pack(">HQH", 0, SIZE, 1 | 4))
            opt_reply(s, opt, REP_ACK)
            return data[4:4 + namelen].decode()
        else:
            opt_reply(s, opt, REP_ERR_UNSUP)


def read_reply(s, mode, cookie, off, n):
    if mode == "good":
        chunk(s, DONE, T_DATA, cookie, struct.pack(">Q", off) + disk(off, n))
    elif mode == "pieces":
        pieces = list(range(off, off + n, 512))
        for i, p in enumerate(reversed(pieces)):
            last = DONE if i == len(pieces) - 1 else 0
            m = min(512, off + n - p)
            if (p // 512) % 3 == 0:
                chunk(s, last, T_HOLE, cookie, struct.pack(">QI", p, m))
            else:
                chunk(s, last, T_DATA, cookie, struct.pack(">Q", p) + disk(p, m))
    elif mode == "data_outside":
        chunk(s, DONE, T_DATA, cookie, struct.pack(">Q", off + n) + disk(0, n))
    elif mode == "data_huge":
        chunk(s, DONE, T_DATA, cookie, struct.pack(">Q", off), length=0xFFFFFFFF)
    elif mode == "hole_outside":
        chunk(s, DONE, T_HOLE, cookie, struct.pack(">QI", off, n + 4096))
    elif mode == "short_cover":
        chunk(s, DONE, T_DATA, cookie, struct.pack(">Q", off) + disk(off, n // 2))
    elif mode == "unknown_type":
        chunk(s, DONE, 77, cookie, b"")
    elif mode == "error_long":
        chunk(s, DONE, T_ERROR, cookie, struct.pack(">IH", 5, 500) + b"oops")
    elif mode == "error_text":
        msg = b"disk on fire"
        chunk(s, DONE, T_ERROR, cookie, struct.pack(">IH", 5, len(msg)) + msg)
    elif mode == "wrong_cookie":
        s.sendall(struct.pack(">IIQ", SIMPLE, 0, cookie + 1000) + disk(off, n))
    elif mode == "close_mid":
        s.sendall(struct.pack(">IIQ", SIMPLE, 0, cookie) + disk(off, n // 2))
        raise EOFError
    elif mode == "silent":
        pass


def status_reply(s, mode, cookie, off, n):
    if mode == "status_huge":
        chunk(s, DONE, T_STATUS, cookie, struct.pack(">I", META_ID), length=0xFFFFFFF4)
    elif mode == "bad_meta_id":
        chunk(s, DONE, T_STATUS, cookie, struct.pack(">III", 99, n, 0))
    else:
        chunk(s, DONE, T_STATUS, cookie, struct.pack(">III", META_ID, n, 0))


def serve(s):
    try:
        mode = negotiate(s)
        while True:
            magic, _, ctype, cookie, off, n = struct.unpack(">IHHQQI", recv_exact(s, 28))
            if magic != REQ_MAGIC or ctype == CMD_DISC:
                break
            if ctype == CMD_READ:
                read_reply(s, mode, cookie, off, n)
            elif ctype == CMD_BLOCK_STATUS:
                status_reply(s, mode, cookie, off, n)
            else:
                s.sendall(struct.pack(">IIQ", SIMPLE, 22, cookie))
    except (EOFError, OSError):
        pass
    finally:
        s.close()


def main():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d %d\n" % (srv.getsockname()[1], silent.getsockname()[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
