# SPDX-License-Identifier: MIT
"""The bytes the servers serve, made on /dev/shm so that no server waits
for a disk and all of them read the same kind of data.

Every byte is random (a 16 MiB random block repeated): reads must move
real data, not a sparse file's holes or a memory backend's unallocated
pages, which some servers answer without touching memory at all. The
contents need not be unique: no server compresses or deduplicates.
"""

import os
import subprocess

MIB = 1 << 20
_block = None


def _random_block():
    global _block
    if _block is None:
        _block = os.urandom(16 * MIB)
    return _block


def write_data(path, nbytes):
    """A file of nbytes of data, no holes."""
    block = _random_block()
    with open(path, "wb") as f:
        left = nbytes
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def write_sparse(path, size, data_bytes, chunk=MIB):
    """A sparse file of `size` holding `data_bytes` of data in `chunk`
    pieces spread evenly over it, so a copy has to walk the extent list
    from start to end rather than find one data run at the front."""
    block = _random_block()[:chunk]
    pieces = data_bytes // chunk
    stride = size // pieces
    with open(path, "wb") as f:
        f.truncate(size)
        for i in range(pieces):
            f.seek(i * stride)
            f.write(block)


def prefill(uri, src):
    """Copy src into an NBD export (memory backends start out unallocated)."""
    subprocess.run(["nbdcopy", src, uri], check=True)
