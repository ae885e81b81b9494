#!/usr/bin/python3
"""A persistent cow overlay keeps every flushed write through SIGKILL of
its worker, SIGKILL of the master (and its workers), and restarts.

A writer makes 4 KiB and odd-sized writes all over a 64 KiB-block overlay
(copy-ups of fresh blocks, rewrites of held ones), some with FUA, with a
FLUSH every few writes, while a second connection (CAN_MULTI_CONN) checks
that it reads what the first flushed. Then, with writes still unflushed:
SIGKILL of the worker; later SIGKILL of the master and the workers and a
restart; later a clean restart. After each, every 4 KiB page whose last
write was flushed (or FUA) reads exactly as written, every page never
written reads as the base, and the base file is unchanged."""
import os
import random
import signal
import tempfile
import time

import nbdtest
import cowtest
from nbdtest import check

SIZE = 8 * cowtest.MiB
PAGE = 4096
PAGES = SIZE // PAGE


class Writer:
    def __init__(self, base, rng):
        self.base = base
        self.model = bytearray(base)
        self.rng = rng
        self.seq = 0
        self.flushed = 0
        self.last = [None] * PAGES	# (seq, fua) of the page's last write

    def write(self, h):
        rng = self.rng
        if rng.random() < 0.7:
            off, n = rng.randrange(PAGES) * PAGE, PAGE
        else:
            off = rng.randrange(SIZE - 1)
            n = min(rng.randrange(1, 3 * 65536), SIZE - off)
        fua = rng.random() < 0.1
        data = rng.randbytes(n)
        self.seq += 1
        h.pwrite(data, off, nbd.CMD_FLAG_FUA if fua else 0)
        self.model[off:off + n] = data
        for p in range(off // PAGE, (off + n - 1) // PAGE + 1):
            self.last[p] = (self.seq, fua)

    def flush(self, h):
        seq = self.seq
        h.flush()
        self.flushed = seq

    def run(self, h, writes, flush_every=6):
        for i in range(writes):
            self.write(h)
            if i % flush_every == flush_every - 1:
                self.flush(h)

    def verify(self, h, label):
        """Checks what must have survived; takes what reads back as the
        truth for pages whose last write was never made durable."""
        got = cowtest.read_all(h, SIZE)
        checked = lost = 0
        for p in range(PAGES):
            a, b = p * PAGE, (p + 1) * PAGE
            last = self.last[p]
            if last is None:
                check(got[a:b] == self.base[a:b],
                      "%s: page %d was never written but does not read as the base" % (label, p))
            elif last[1] or last[0] <= self.flushed:
                check(got[a:b] == self.model[a:b],
                      "%s: page %d was flushed (write %d) but reads otherwise" % (label, p, last[0]))
                checked += 1
            else:
                lost += got[a:b] != self.model[a:b]
                self.model[a:b] = got[a:b]
                self.last[p] = (self.seq, False)
        print("%s: %d flushed pages intact, %d unflushed pages lost" % (label, checked, lost))


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [p for p in pids if os.path.exists("/proc/%d" % p) and
                 not open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[0] == "Z"]
        if not alive:
            return
        time.sleep(0.05)
    raise nbdtest.TestFailure("processes %s outlived SIGKILL" % alive)


def main():
    rng = random.Random(1515)
    with tempfile.TemporaryDirectory(prefix="cnbd-cow.") as d:
        os.chmod(d, 0o755)
        base_path = os.path.join(d, "base.img")
        base = cowtest.make_base(base_path, SIZE, 5)
        before = cowtest.sha256(base_path)
        exports = {"golden": cowtest.export(base_path, os.path.join(d, "golden.cow"))}
        w = Writer(base, rng)
        with nbdtest.Server(exports) as srv:
            h = srv.connect("golden")
            reader = srv.connect("golden", unix=True)
            check(h.can_multi_conn(), "a persistent overlay is not CAN_MULTI_CONN")
            w.run(h, 120)
            w.flush(h)
            check(cowtest.read_all(reader, SIZE) == bytes(w.model),
                  "the second connection does not read what the first flushed")

            # 1. The worker dies with writes unflushed.
            w.run(h, 40, flush_every=7)
            kill_all(cowtest.workers(srv))
            h = srv.connect("golden")
            w.verify(h, "after SIGKILL of the workers")

            # 2. The master and its workers die; the server starts again.
            w.run(h, 80, flush_every=5)
            w.write(h)
            workers = cowtest.workers(srv)
            srv._stopped_by_us = True
            kill_all([srv.proc.pid])
            srv.proc.wait()
            kill_all(workers)
            srv.start()
            h = srv.connect("golden")
            w.verify(h, "after SIGKILL of the master and a restart")

            # 3. A clean stop with unflushed writes, and a restart.
            w.run(h, 60, flush_every=4)
            w.write(h)
            srv.stop()
            srv.start()
            h = srv.connect("golden", unix=True)
            w.verify(h, "after a clean restart")
            h.shutdown()
            srv.check_alive()
        check(cowtest.sha256(base_path) == before, "the base file changed")


import nbd  # noqa: E402  (after nbdtest, which tells where it comes from)

nbdtest.main(main)
