#!/usr/bin/python3
"""A stack the server cannot build stops it at start, with the export's
file:line and the level that refused: a layer with no base, base on a
plain backend, a backend in the middle of a stack, more than 8 levels,
an unknown key (routed by its prefix), and cow's own checks (a relative
overlay path, a bad block-size, temp-dir with an overlay, an overlay
made for a base of another size, an overlay another export holds).
Nothing half-built serves: the server exits 1. A reload that would open a
running persistent overlay a second time (its stack's keys changed) is
refused and changes nothing; after nbdctl server remove, the same reload
applies."""
import os
import subprocess
import tempfile
import time

import nbdtest
from nbdtest import check


def refused(exports, expect, label):
    with tempfile.TemporaryDirectory(prefix="cnbd-test.") as tmp:
        conf = os.path.join(tmp, "cnbd.conf")
        with open(conf, "w") as f:
            f.write(nbdtest.config_text(exports, ["127.0.0.1:%d" % nbdtest.free_port()]))
        p = subprocess.run([nbdtest.SERVERD, "-f", "-c", conf], timeout=20,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode(errors="replace")
        check(p.returncode == 1, "%s: the server did not refuse to start (exit %d):\n%s"
              % (label, p.returncode, out))
        check(expect in out, "%s: no %r in:\n%s" % (label, expect, out))
        check("cnbd.conf:" in out, "%s: the refusal names no file:line:\n%s" % (label, out))
        print("%s: %s" % (label, out.strip().splitlines()[-1]))


def main():
    with tempfile.TemporaryDirectory(prefix="cnbd-cow.") as d:
        os.chmod(d, 0o755)
        base = os.path.join(d, "base.img")
        small = os.path.join(d, "small.img")
        for path, size in ((base, 4 << 20), (small, 2 << 20)):
            with open(path, "wb") as f:
                f.truncate(size)
        ov = os.path.join(d, "o.cow")

        def cow(**keys):
            e = {"backend": "cow", "base": "file", "path": base}
            e.update({k.replace("_", "-"): v for k, v in keys.items()})
            return {"x": e}

        refused({"x": {"backend": "cow", "path": base}},
                "layer 'cow' needs a base: add base = file", "no base")
        refused({"x": {"backend": "memory", "base": "file"}},
                "base is for a layer, and 'memory' is a backend, not a layer", "base on a backend")
        refused({"x": {"backend": "faulty", "base": "memory, file"}},
                "'memory' is a backend, not a layer: nothing can be below it", "backend in the middle")
        refused({"x": {"backend": "faulty", "base": ", ".join(["faulty"] * 8 + ["memory"])}},
                "a stack of more than 8 levels", "9 levels")
        refused({"x": {"backend": "cow", "base": "faulty,", "path": base}},
                "ends with a comma", "a trailing comma")
        refused(cow(**{"cow.colour": "blue"}),
                "layer 'cow' cannot open it: cow: unknown parameter 'colour'", "cow.colour")
        refused(cow(**{"file.size": "1M"}),
                "backend 'file' cannot open it: file: unknown parameter 'size'", "file.size")
        refused(cow(overlay="o.cow"), "cow: overlay: 'o.cow' is not an absolute path",
                "relative overlay")
        refused(cow(block_size="3K"), "block-size: 3K is not a power of 2 from 4K to 1M",
                "block-size 3K")
        refused(cow(overlay=ov, temp_dir=d), "temp-dir is for per-connection overlays",
                "temp-dir with overlay")

        # An overlay made for one base, then given another of another size.
        with nbdtest.Server(cow(overlay=ov)) as srv:
            srv.connect("x").shutdown()
        refused({"x": {"backend": "cow", "base": "file", "path": small, "overlay": ov}},
                "made for a base of 4194304 bytes; the base now has 2097152", "another base")
        # One overlay, two exports: the second is refused.
        two = cow(overlay=ov)
        two["y"] = dict(two["x"])
        refused(two, "the overlay %s is in use" % ov, "one overlay for two exports")
        # The overlay's block size is the one it was made with.
        refused(cow(overlay=ov, block_size="4K"),
                "made with block-size 65536; the export asks for 4096", "another block size")
        with open(os.path.join(d, "junk.cow"), "wb") as f:
            f.write(b"not an overlay" * 100)
        refused(cow(overlay=os.path.join(d, "junk.cow")), "not a cow overlay",
                "a file that is not an overlay")
        reload_changed_stack(cow(overlay=ov), d)


def reload_changed_stack(exports, d):
    sock = os.path.join(d, "control.sock")
    nbdctl = [os.path.join(nbdtest.BUILD, "nbdctl"), "server", "--socket", sock]
    with nbdtest.Server(exports, server={"control": sock}) as srv:
        h = srv.connect("x")
        h.pwrite(b"kept", 0)
        h.flush()
        h.shutdown()
        with open(srv.config, "a") as f:
            f.write("block-size = 64K\n")	# the same size, but a changed stack
        rc, out, err = nbdtest.run(nbdctl + ["reload"], check_rc=False)
        check(rc == 1 and "is in use" in err and "nbdctl server remove" in err,
              "reload of a changed cow stack: exit %d\n%s%s" % (rc, out, err))
        h = srv.connect("x")
        check(h.pread(4, 0) == b"kept", "the refused reload changed the export")
        h.shutdown()
        # Its worker holds the overlay until it ends: wait for that.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = [l.split() for l in nbdtest.run(nbdctl + ["list"]).splitlines()]
            if ["x", "cow", "0"] in [r[:3] for r in rows]:
                break
            time.sleep(0.05)
        else:
            raise nbdtest.TestFailure("the connection to x did not end")
        nbdtest.run(nbdctl + ["remove", "x"])
        nbdtest.run(nbdctl + ["reload"])
        check(srv.connect("x").pread(4, 0) == b"kept", "after remove and reload")
        print("a changed cow stack: reload refused, then applied after remove")


nbdtest.main(main)
