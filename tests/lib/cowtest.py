# SPDX-License-Identifier: MIT
"""Helpers for the cow layer's tests: a base image with data and holes,
its checksum, the workers of a server, and exports of each mode.

    base = cowtest.make_base(path, size, seed)   # the bytes it holds
    cowtest.sha256(path)
    cowtest.workers(srv)                          # pids of srv's workers
    cowtest.export(base_path, overlay=None, **keys)
"""

import hashlib
import os
import random

KiB = 1 << 10
MiB = 1 << 20


def make_base(path, size, seed, hole_every=3):
    """A sparse file of size bytes: random 64 KiB stretches, every
    hole_every-th one a hole. Returns its bytes. World-readable (the
    master opens it; the test reads it)."""
    rng = random.Random(seed)
    data = bytearray(size)
    with open(path, "wb") as f:
        f.truncate(size)
        for i, off in enumerate(range(0, size, 64 * KiB)):
            if hole_every and i % hole_every == 1:
                continue
            n = min(64 * KiB, size - off)
            chunk = rng.randbytes(n)
            data[off:off + n] = chunk
            f.seek(off)
            f.write(chunk)
    os.chmod(path, 0o644)
    return bytes(data)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return h.hexdigest()


def export(base_path, overlay=None, **keys):
    """A cow export over a file base; persistent when overlay is given."""
    e = {"backend": "cow", "base": "file", "path": base_path}
    if overlay:
        e["overlay"] = overlay
    e.update({k.replace("_", "-"): v for k, v in keys.items()})
    return e


def workers(srv):
    """The pids of srv's workers (its children)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == srv.proc.pid:
            out.append(int(p))
    return out


def read_all(h, size):
    out = bytearray()
    for off in range(0, size, 4 * MiB):
        out += h.pread(min(4 * MiB, size - off), off)
    return bytes(out)
