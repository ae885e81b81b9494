# SPDX-License-Identifier: MIT
"""Sparse copy: how long nbdcopy takes to copy an 8 GiB export holding
64 MiB of data to null:, next to a plain 64 MiB export. A server that
answers NBD_CMD_BLOCK_STATUS (base:allocation) with the file's real
extents lets nbdcopy skip the holes, so the 8 GiB copy should cost about
what the 64 MiB one does; without it, nbdcopy reads 8 GiB of zeroes."""

import os
import subprocess
import time

import data
import servers

GIB, MIB = 1 << 30, 1 << 20
SPARSE_SIZE, DATA_BYTES = 8 * GIB, 64 * MIB


def _best_copy(uri, trials):
    best = None
    for _ in range(trials):
        t0 = time.monotonic()
        subprocess.run(["nbdcopy", uri, "null:"], check=True)
        dt = time.monotonic() - t0
        best = dt if best is None else min(best, dt)
    return best


def run(build, groups, workdir, trials):
    sparse = os.path.join(workdir, "sparse.img")
    small = os.path.join(workdir, "small.img")
    data.write_sparse(sparse, SPARSE_SIZE, DATA_BYTES)
    data.write_data(small, DATA_BYTES)
    results = []
    try:
        # cnbd: one file server with both exports.
        s = servers.cnbd(build, "file", groups, workdir, SPARSE_SIZE, path=sparse,
                         extra=[("small", small)])
        try:
            results.append(("cnbd file", _best_copy(s.uri("bench"), trials),
                            _best_copy(s.uri("small"), trials)))
        finally:
            s.stop()
        # nbdkit's file plugin serves one file per process.
        a = servers.nbdkit("file", groups, workdir, SPARSE_SIZE, path=sparse,
                           name="nbdkit-sparse")
        b = servers.nbdkit("file", groups, workdir, DATA_BYTES, path=small,
                           name="nbdkit-small")
        try:
            results.append(("nbdkit file", _best_copy(a.uri(), trials),
                            _best_copy(b.uri(), trials)))
        finally:
            a.stop()
            b.stop()
    finally:
        os.unlink(sparse)
        os.unlink(small)
    return results
