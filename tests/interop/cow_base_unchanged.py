#!/usr/bin/python3
"""Nothing written through a cow export reaches its base. nbdcopy fills
a persistent overlay with a random image and copies it back out (byte
for byte the image), fio writes and verifies through a per-connection
one, nbdsh trims and zeroes both; the base file's sha256 is the same
after all of it. And a worker cannot write the base even if it tried:
the descriptor it holds for the base is open read-only (its overlay's is
not), and it has no way to open another (the sandbox)."""
import os
import random
import tempfile

import nbdtest
import cowtest
from nbdtest import check

SIZE = 8 * cowtest.MiB


def access_mode(pid, target):
    """O_RDONLY/O_WRONLY/O_RDWR of pid's descriptors for target."""
    modes = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != target:
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                flags = next(l for l in f if l.startswith("flags:")).split()[1]
        except (OSError, StopIteration):
            continue
        modes.append(int(flags, 8) & os.O_ACCMODE)
    return modes


def check_worker_fds(srv, base, overlay):
    pids = cowtest.workers(srv)
    check(pids, "no worker serves the connection")
    for pid in pids:
        modes = access_mode(pid, base)
        check(modes and all(m == os.O_RDONLY for m in modes),
              "worker %d holds the base with access modes %s, not read-only" % (pid, modes))
        if overlay:
            check(os.O_RDWR in access_mode(pid, overlay),
                  "worker %d cannot write its overlay" % pid)
    print("workers %s: base read-only" % pids)


def main():
    nbdtest.need("nbdcopy", "fio", "nbdsh")
    with tempfile.TemporaryDirectory(prefix="cnbd-cow.") as d:
        os.chmod(d, 0o755)
        base = os.path.join(d, "base.img")
        overlay = os.path.join(d, "golden.cow")
        cowtest.make_base(base, SIZE, 7)
        before = cowtest.sha256(base)
        image = os.path.join(d, "image")
        with open(image, "wb") as f:
            f.write(random.Random(8).randbytes(SIZE))
        exports = {"pers": cowtest.export(base, overlay),
                   "conn": cowtest.export(base)}
        with nbdtest.Server(exports) as srv:
            nbdtest.run(["nbdcopy", image, srv.uri("pers")])
            out = os.path.join(d, "out")
            nbdtest.run(["nbdcopy", srv.uri("pers"), out])
            check(open(out, "rb").read() == open(image, "rb").read(),
                  "nbdcopy reads back something else than it wrote")
            check(cowtest.sha256(base) == before, "nbdcopy's writes reached the base")

            # fio in one connection: per-connection overlays end with it.
            nbdtest.run(["fio", "--name=cow", "--ioengine=nbd", "--uri=" + srv.uri("conn"),
                         "--rw=randwrite", "--bs=4k", "--size=%d" % SIZE, "--io_size=2m",
                         "--verify=crc32c", "--do_verify=1", "--iodepth=8",
                         "--randrepeat=1", "--verify_state_save=0",
                         "--output-format=terse"], timeout=300)

            for name, ov in (("pers", overlay), ("conn", None)):
                h = srv.connect(name)
                h.pwrite(b"\xa5" * 100000, 12345)
                h.trim(1 << 20, 1 << 20)
                h.zero(3 << 20, 4 << 20)
                h.flush()
                check_worker_fds(srv, base, ov)
                h.shutdown()
            srv.check_alive()
        check(cowtest.sha256(base) == before, "the base file changed")
        print("base sha256 %s before and after" % before)


nbdtest.main(main)
