#!/usr/bin/python3
"""Large reads from storage in memory (the memory backend's memfd, a file
on tmpfs) leave by sendfile, straight from the backend's descriptor: the
bytes must be exactly those pread would give, with simple and structured
replies, over TCP and a Unix socket, at every size around the 64 KiB
threshold, unaligned, up to the export's end, holes as zeros, and with
many reads in flight at once. Over TLS the same reads take the copying
path (tested by server_tls_*). A client that vanishes in the middle of
such a reply costs only its connection: no worker dies of SIGPIPE."""
import os
import socket
import struct
import time

import nbd
import nbdtest
import rawnbd
from nbdtest import check

SIZE = 8 << 20
SIZES = (4096, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 1 << 20, 3 << 20)


def model_for(h):
    """Writes a pattern to the first 6 MiB (the last 2 MiB stay a hole)
    and returns what the whole export must read as."""
    blob = os.urandom(6 << 20)
    for off in range(0, len(blob), 1 << 20):
        h.pwrite(blob[off:off + (1 << 20)], off)
    h.flush()
    return blob + bytes(SIZE - len(blob))


def check_reads(h, model, what):
    for n in SIZES:
        for off in (0, 1, 4095, (4 << 20) + 12345, SIZE - n):
            got = h.pread(n, off)
            check(got == model[off:off + n],
                  "%s: read of %d bytes at %d differs" % (what, n, off))


def check_in_flight(h, model, what):
    """32 reads of 1 MiB in flight at once, each checked."""
    bufs = []
    for i in range(32):
        off = (i * 777_777) % (SIZE - (1 << 20))
        buf = nbd.Buffer(1 << 20)
        h.aio_pread(buf, off)
        bufs.append((off, buf))
    while h.aio_in_flight() > 0:
        h.poll(-1)
    for off, buf in bufs:
        check(buf.to_bytearray() == model[off:off + (1 << 20)],
              "%s: in-flight read at %d differs" % (what, off))


def vanish_mid_reply(srv, export):
    c = rawnbd.negotiated(srv.port, export)
    c.request(rawnbd.CMD_READ, 0, 4 << 20, cookie=7)
    c.recv_exact(100)	# the reply has started
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.sock.close()	# RST: the server's next send fails with EPIPE
    time.sleep(0.5)
    srv.check_alive()
    log = srv.log_text()
    check("killed by signal" not in log, "a worker died: %s" % log[-2000:])


def main():
    shm = "/dev/shm/cnbd-zero-copy-%d" % os.getpid()
    with open(shm, "wb") as f:
        f.truncate(SIZE)
    try:
        exports = {"mem": {"backend": "memory", "size": SIZE},
                   "shm": {"backend": "file", "path": shm}}
        os.chmod(shm, 0o666)	# workers run as nobody
        with nbdtest.Server(exports) as srv:
            for export in ("mem", "shm"):
                h = srv.connect(export)
                model = model_for(h)
                for structured in (True, False):
                    for unix in (False, True):
                        r = srv.connect(export, unix=unix, structured=structured)
                        check(r.get_structured_replies_negotiated() == structured,
                              "structured replies: want %s" % structured)
                        what = "%s %s %s" % (export, "unix" if unix else "tcp",
                                             "structured" if structured else "simple")
                        check_reads(r, model, what)
                        check_in_flight(r, model, what)
                        r.shutdown()
                h.shutdown()
                vanish_mid_reply(srv, export)
            # After all that, new connections are still served.
            h = srv.connect("mem")
            check(h.pread(4096, SIZE - 4096) == bytes(4096), "the hole at the end is not zeros")
            h.shutdown()
    finally:
        os.unlink(shm)


nbdtest.main(main)
