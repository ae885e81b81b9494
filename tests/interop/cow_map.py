#!/usr/bin/python3
"""BLOCK_STATUS of a cow export merges the overlay's map with the
base's: blocks the overlay holds are data, blocks it zeroed or trimmed
read as holes of zeros, and everything else is what the base says (its
holes and its data). nbdinfo --map shows exactly that merged map for a
persistent overlay; nbdsh's block_status shows it inside the connection
of a per-connection one."""
import os
import tempfile

import nbdtest
from nbdtest import check

KiB = 1024
SIZE = 1024 * KiB
BASE_DATA = [(0, 64), (512, 64), (768, 192)]		# KiB: the rest is holes

# What the cow export's map must be once change() ran (offset, length,
# type, in KiB; type 3 = hole|zero, 0 = data).
WANT = [(0, 128, 3), (128, 64, 0), (192, 320, 3), (512, 64, 0), (576, 192, 3),
        (768, 64, 0), (832, 64, 3), (896, 64, 0), (960, 64, 3)]


def make_base(path):
    with open(path, "wb") as f:
        f.truncate(SIZE)
        for off, n in BASE_DATA:
            f.seek(off * KiB)
            f.write(b"\x77" * (n * KiB))
    os.chmod(path, 0o644)


def change(h):
    h.zero(64 * KiB, 0)			# base data -> zeros
    h.pwrite(b"x", 128 * KiB + 5)		# a base hole -> overlay data
    h.pwrite(b"y" * 64 * KiB, 640 * KiB)	# overlay data ...
    h.trim(64 * KiB, 640 * KiB)		# ... trimmed away again
    h.zero(64 * KiB, 832 * KiB)		# the middle of base data -> zeros
    h.flush()


def in_kib(extents):
    return [(o // KiB, n // KiB, t) for o, n, t in extents]


def nbdinfo_map(uri):
    out = nbdtest.run(["nbdinfo", "--map", uri])
    return [tuple(int(x) for x in line.split()[:3]) for line in out.splitlines() if line.strip()]


def block_status(h):
    import nbd
    got = []

    def cb(metacontext, offset, entries, err):
        if metacontext != nbd.CONTEXT_BASE_ALLOCATION:
            return
        for i in range(0, len(entries), 2):
            start = got[-1][0] + got[-1][1] if got else offset
            got.append((start, entries[i], entries[i + 1] & 3))

    off = 0
    while off < SIZE:
        h.block_status(SIZE - off, off, cb)
        off = got[-1][0] + got[-1][1]
    merged = []
    for o, n, t in got:
        if merged and merged[-1][2] == t:
            merged[-1] = (merged[-1][0], merged[-1][1] + n, t)
        else:
            merged.append((o, n, t))
    return merged


def main():
    nbdtest.need("nbdinfo")
    with tempfile.TemporaryDirectory(prefix="cnbd-cow.") as d:
        os.chmod(d, 0o755)
        base = os.path.join(d, "base.img")
        make_base(base)
        exports = {
            "plain": {"backend": "file", "path": base},
            "pers": {"backend": "cow", "base": "file", "path": base,
                     "overlay": os.path.join(d, "p.cow")},
            "conn": {"backend": "cow", "base": "file", "path": base},
        }
        with nbdtest.Server(exports) as srv:
            plain = nbdinfo_map(srv.uri("plain"))
            check(nbdinfo_map(srv.uri("pers")) == plain,
                  "an empty overlay does not show the base's map")
            print("base:", in_kib(plain))

            h = srv.connect("pers")
            change(h)
            h.shutdown()
            got = in_kib(nbdinfo_map(srv.uri("pers")))
            print("persistent:", got)
            check(got == WANT, "nbdinfo --map of the persistent overlay:\n%s\nwant\n%s"
                  % (got, WANT))

            import nbd
            h = nbd.NBD()
            h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
            h.connect_uri(srv.uri("conn"))
            change(h)
            got = in_kib(block_status(h))
            print("per connection:", got)
            check(got == WANT, "block_status in a per-connection overlay:\n%s\nwant\n%s"
                  % (got, WANT))
            h.shutdown()
            check(nbdinfo_map(srv.uri("conn")) == plain,
                  "a new connection does not see the base's map")
            srv.check_alive()


nbdtest.main(main)
