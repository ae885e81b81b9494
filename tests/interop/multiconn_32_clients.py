#!/usr/bin/python3
"""32 clients connected at once to one export (memory, then file), each
writing its own region with its own random data and reading it back
while the others do the same; afterwards a fresh connection sees every
region intact."""
import os
import random
import tempfile
import threading

import nbd
import nbdtest
from nbdtest import check

CLIENTS = 32
REGION = 512 * 1024          # per client
CHUNK = 64 * 1024
SIZE = CLIENTS * REGION


def worker(srv, export, i, data, barrier, errors, handles):
    try:
        h = handles[i]
        barrier.wait(30)
        base = i * REGION
        rng = random.Random(i)
        order = list(range(0, REGION, CHUNK))
        rng.shuffle(order)
        for off in order:
            h.pwrite(data[off:off + CHUNK], base + off)
        h.flush()
        for off in range(0, REGION, CHUNK):
            if h.pread(CHUNK, base + off) != data[off:off + CHUNK]:
                errors.append("client %d: region %d+%d reads back wrong" %
                              (i, base + off, CHUNK))
                return
        h.shutdown()
    except Exception as e:   # reported by the main thread
        errors.append("client %d: %r" % (i, e))
        try:
            barrier.abort()
        except Exception:
            pass


def run(srv, export):
    datas = [os.urandom(REGION) for _ in range(CLIENTS)]
    # Every client is connected (a worker each) before anyone writes.
    handles = [srv.connect(export, unix=bool(i % 2)) for i in range(CLIENTS)]
    check(all(h.can_multi_conn() for h in handles), "%s: no CAN_MULTI_CONN" % export)
    barrier = threading.Barrier(CLIENTS)
    errors = []
    threads = [threading.Thread(target=worker,
                                args=(srv, export, i, datas[i], barrier, errors, handles))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    check(not any(t.is_alive() for t in threads), "%s: clients hung" % export)
    check(not errors, "%s: %s" % (export, "; ".join(errors[:5])))
    srv.check_alive()

    h = srv.connect(export)
    for i in range(CLIENTS):
        check(h.pread(REGION, i * REGION) == datas[i],
              "%s: region of client %d differs on a fresh connection" % (export, i))
    h.shutdown()
    return datas


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-mc.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.truncate(SIZE)
        os.chmod(path, 0o666)
        exports = {"mem": {"backend": "memory", "size": SIZE},
                   "file": {"backend": "file", "path": path}}
        with nbdtest.Server(exports) as srv:
            run(srv, "mem")
            datas = run(srv, "file")
            with open(path, "rb") as f:
                check(f.read() == b"".join(datas), "file: contents on disk differ")


nbdtest.main(main)
