#!/usr/bin/python3
"""nbdctl server commit NAME merges a persistent cow overlay into its
base, and reset NAME drops it, through the master's control socket.

Both are refused while a client is connected (the message says why, and
nothing changes). After commit the base file holds exactly what the
export showed (sha256 of a model), the export still reads the same, the
overlay is empty (nbdinfo --map is the base's own map again, its data is
punched out of the file) and survives a restart empty. After reset the
export reads as the base. A per-connection export has nothing to commit,
and an unknown command or export is an error naming it."""
import os
import tempfile

import nbdtest
import cowtest
from nbdtest import check

SIZE = 4 * cowtest.MiB
NBDCTL = os.path.join(nbdtest.BUILD, "nbdctl")


def nbdctl(sock, *args, ok=True):
    rc, out, err = nbdtest.run([NBDCTL, "server", "--socket", sock] + list(args),
                               check_rc=False)
    check((rc == 0) == ok, "nbdctl server %s: exit %d\n%s%s" % (" ".join(args), rc, out, err))
    return out + err


def change(h, model):
    for off, data in ((12345, b"\x11" * 70000), (SIZE - 3, b"end"), (2 << 20, b"\x22" * 4096)):
        h.pwrite(data, off)
        model[off:off + len(data)] = data
    h.zero(65536 * 3, 65536 * 5)
    model[65536 * 5:65536 * 8] = bytes(65536 * 3)
    h.flush()


def disk_blocks(path):
    return os.stat(path).st_blocks * 512


def main():
    nbdtest.need("nbdinfo")
    with tempfile.TemporaryDirectory(prefix="cnbd-cow.") as d:
        os.chmod(d, 0o755)
        base = os.path.join(d, "base.img")
        overlay = os.path.join(d, "golden.cow")
        sock = os.path.join(d, "control.sock")
        model = bytearray(cowtest.make_base(base, SIZE, 9))
        original = cowtest.sha256(base)
        exports = {"golden": cowtest.export(base, overlay),
                   "scratch": cowtest.export(base)}
        with nbdtest.Server(exports, server={"control": sock}) as srv:
            check(nbdtest.run(["nbdinfo", "--map", srv.uri("golden")]) ==
                  nbdtest.run(["nbdinfo", "--map", srv.uri("scratch")]),
                  "an empty overlay's map is not the base's")
            h = srv.connect("golden")
            change(h, model)
            out = nbdctl(sock, "commit", "golden", ok=False)
            check("export 'golden' has 1 connection; commit needs none" in out, out)
            out = nbdctl(sock, "reset", "golden", ok=False)
            check("reset needs none" in out, out)
            h.shutdown()
            check(cowtest.sha256(base) == original, "a refused commit changed the base")
            held = disk_blocks(overlay)

            out = nbdctl(sock, "commit", "golden")
            print(out.strip())
            check("committed 4 blocks of data and 3 of zeros" in out, out)
            with open(base, "rb") as f:
                check(f.read() == bytes(model), "the base does not hold what the export showed")
            h = srv.connect("golden")
            check(cowtest.read_all(h, SIZE) == bytes(model), "the export changed at commit")
            h.shutdown()
            map_after = nbdtest.run(["nbdinfo", "--map", srv.uri("golden")])
            direct = nbdtest.run(["nbdinfo", "--map", srv.uri("scratch")])
            check(map_after == direct, "after commit the map is not the base's:\n%s\n%s"
                  % (map_after, direct))
            check(disk_blocks(overlay) < held, "commit left the overlay's data in the file")
            committed = cowtest.sha256(base)

            srv.stop()
            srv.start()
            h = srv.connect("golden")
            check(cowtest.read_all(h, SIZE) == bytes(model), "after a restart")
            h.pwrite(b"\x33" * 100, 0)
            h.trim(SIZE // 2, 0)
            h.flush()
            h.shutdown()
            out = nbdctl(sock, "reset", "golden")
            print(out.strip())
            check("dropped" in out, out)
            h = srv.connect("golden")
            check(cowtest.read_all(h, SIZE) == bytes(model), "reset did not drop the overlay")
            h.shutdown()
            check(cowtest.sha256(base) == committed, "reset wrote the base")
            check(nbdtest.run(["nbdinfo", "--map", srv.uri("golden")]) == direct,
                  "after reset the map is not the base's")

            out = nbdctl(sock, "commit", "scratch", ok=False)
            check("per connection" in out and "nothing to commit" in out, out)
            out = nbdctl(sock, "commit", "nosuch", ok=False)
            check("no export named 'nosuch'" in out, out)
            srv.check_alive()


nbdtest.main(main)
