#!/usr/bin/python3
"""A per-connection cow overlay (no overlay = FILE) is each connection's
own: 8 connections open at once write different bytes to the same places
(the first block, odd offsets across block edges, the last partial
block) and each reads back only its own, also after the others wrote
and flushed. None is offered CAN_MULTI_CONN (a persistent overlay is).
When a connection ends its overlay is gone: a new one reads the base.
With temp-dir the overlays are unlinked files there (nothing shows in
the directory, the workers hold "(deleted)" files); without it, memory
(memfd). The base never changes."""
import os
import tempfile

import nbdtest
import cowtest
from nbdtest import check

SIZE = 2 * cowtest.MiB + 1000
CONNS = 8
SPOTS = [(0, 1), (1, 65530), (65535, 3), (131071, 200000), (SIZE - 1000, 1000),
         (SIZE - 70000, 12345)]


def pattern(c, off, n):
    return bytes(((c * 37) + i) % 251 + 1 for i in range(n))


def overlay_links(srv):
    links = []
    for pid in cowtest.workers(srv):
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                links.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                pass
    return links


def exercise(srv, name, base_bytes):
    handles = [srv.connect(name, unix=c % 2 == 1) for c in range(CONNS)]
    for h in handles:
        check(not h.can_multi_conn(), "%s: a per-connection overlay offered CAN_MULTI_CONN" % name)
    for c, h in enumerate(handles):
        for off, n in SPOTS:
            h.pwrite(pattern(c, off, n), off)
        h.flush()
    links = overlay_links(srv)
    for c, h in enumerate(handles):
        for off, n in SPOTS:
            check(h.pread(n, off) == pattern(c, off, n),
                  "%s: connection %d does not read its own write at %d+%d" % (name, c, off, n))
        # Between the spots: the base.
        check(h.pread(4096, 1 << 20) == base_bytes[1 << 20:(1 << 20) + 4096],
              "%s: connection %d reads something else than the base" % (name, c))
    for h in handles:
        h.shutdown()
    h = srv.connect(name)
    for off, n in SPOTS:
        check(h.pread(n, off) == base_bytes[off:off + n],
              "%s: a new connection still sees a write at %d+%d" % (name, off, n))
    h.shutdown()
    return links


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-cow.") as d:
        os.chmod(d, 0o755)
        base = os.path.join(d, "base.img")
        tdir = os.path.join(d, "overlays")
        os.mkdir(tdir)
        base_bytes = cowtest.make_base(base, SIZE, 3)
        before = cowtest.sha256(base)
        exports = {"mem": cowtest.export(base),
                   "dir": cowtest.export(base, temp_dir=tdir),
                   "pers": cowtest.export(base, os.path.join(d, "p.cow"))}
        with nbdtest.Server(exports) as srv:
            links = exercise(srv, "mem", base_bytes)
            memfds = [l for l in links if l.startswith("/memfd:cnbd-cow ")]
            check(len(memfds) == CONNS, "expected %d memfd overlays, saw %s" % (CONNS, links))
            links = exercise(srv, "dir", base_bytes)
            files = [l for l in links if l.startswith(tdir + "/") and l.endswith("(deleted)")]
            check(len(files) == CONNS, "expected %d unlinked overlays in %s, saw %s"
                  % (CONNS, tdir, links))
            check(os.listdir(tdir) == [], "temp-dir holds %s" % os.listdir(tdir))
            h = srv.connect("pers")
            check(h.can_multi_conn(), "a persistent overlay is not offered CAN_MULTI_CONN")
            h.shutdown()
            srv.check_alive()
        check(cowtest.sha256(base) == before, "the base file changed")


nbdtest.main(main)
