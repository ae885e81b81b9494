#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Requests larger than the advertised maximum from clients that never
asked for block sizes, as nbdkit serves them: 40 MiB and 64 MiB READs
and WRITEs checked byte for byte, from nbdsh (libnbd with
set_request_block_size(False)) and from a raw EXPORT_NAME client, on a
memory and a file export, while NBD_INFO_BLOCK_SIZE still says 32 MiB.
Past 64 MiB: a READ gets EINVAL and the connection goes on; a WRITE gets
EINVAL and the connection is closed (its payload is not read). A client
that asked for block sizes is held to the 32 MiB it was told."""

import errno
import json
import os
import struct
import tempfile

import nbd
import nbdtest
import rawnbd
from nbdtest import check

MIB = 1 << 20
BIG = 64 * MIB

NBDSH_SCRIPT = r'''
import hashlib, os, sys
h.set_request_block_size(False)
h.set_strict_mode(0)
h.connect_uri(URI)
for off, n in ((4096, 64 << 20), ((64 << 20) + 12345, 40 << 20)):
    data = os.urandom(n)
    h.pwrite(data, off)
    back = h.pread(n, off)
    if back != data:
        print("MISMATCH at %d+%d" % (off, n))
        sys.exit(1)
    print("ok %d bytes at %d sha256 %s" % (n, off, hashlib.sha256(back).hexdigest()[:16]))
h.shutdown()
'''


def advertised(srv, name):
    out = nbdtest.run(["nbdinfo", "--json", srv.uri(name)])
    e = json.loads(out)["exports"][0]
    return e["block_size_maximum"]


def nbdsh_large(srv, name):
    script = "URI = %r\n" % srv.uri(name) + NBDSH_SCRIPT
    out = nbdtest.run(["nbdsh", "-c", script], timeout=300)
    check(out.count("ok ") == 2, "nbdsh %s: %s" % (name, out))


def negotiated_held(srv, name):
    h = nbd.NBD()
    h.set_strict_mode(0)        # the server answers, not libnbd
    h.connect_uri(srv.uri(name))
    check(h.get_block_size(nbd.SIZE_MAXIMUM) == 32 * MIB, "advertised maximum")
    nbdtest.expect_nbd_error(errno.EINVAL, h.pread, 40 * MIB, 0,
                             what="a 40 MiB pread after asking for block sizes")
    check(len(h.pread(32 * MIB, 0)) == 32 * MIB, "a 32 MiB pread")
    h.shutdown()


def raw_export_name(srv, name):
    c = rawnbd.connect_tcp(srv.port, timeout=60)
    c.handshake()
    c.export_name(name)
    data = os.urandom(BIG)
    err, _ = c.cmd(rawnbd.CMD_WRITE, 512, BIG, data=data, cookie=1)
    check(err == 0, "EXPORT_NAME client: 64 MiB write: error %d" % err)
    err, back = c.cmd(rawnbd.CMD_READ, 512, BIG, cookie=2)
    check(err == 0 and back == data, "EXPORT_NAME client: 64 MiB read back")
    err, _ = c.cmd(rawnbd.CMD_READ, 0, BIG + 1, cookie=3)
    check(err == rawnbd.EINVAL, "64 MiB + 1 read: error %d, want EINVAL" % err)
    err, back = c.cmd(rawnbd.CMD_READ, 512, 4096, cookie=4)
    check(err == 0 and back == data[:4096], "the connection goes on after the refusal")
    c.request(rawnbd.CMD_WRITE, 0, BIG + 1, cookie=5)     # no payload follows
    magic, err, cookie = struct.unpack(">IIQ", c.recv_exact(16))
    check(magic == rawnbd.SIMPLE_REPLY_MAGIC and cookie == 5 and err == rawnbd.EINVAL,
          "64 MiB + 1 write: error %d cookie %d, want EINVAL" % (err, cookie))
    check(c.closed_within(5), "the connection is closed after a 64 MiB + 1 write")
    c.close()


def main():
    nbdtest.need("nbdsh", "nbdinfo")
    with nbdtest.Server({"mem": {"backend": "memory", "size": "160M"}}) as srv:
        check(advertised(srv, "mem") == 32 * MIB, "advertised maximum")
        nbdsh_large(srv, "mem")
        negotiated_held(srv, "mem")
        raw_export_name(srv, "mem")
        srv.check_alive()

    # The file backend (pread/pwrite, and sendfile for large reads).
    d = tempfile.mkdtemp(prefix="cnbd-large.")
    os.chmod(d, 0o755)
    img = os.path.join(d, "disk.img")
    with open(img, "wb") as f:
        f.truncate(160 * MIB)
    os.chmod(img, 0o666)
    try:
        with nbdtest.Server({"file": {"backend": "file", "path": img}}) as srv:
            check(advertised(srv, "file") == 32 * MIB, "advertised maximum (file)")
            nbdsh_large(srv, "file")
            raw_export_name(srv, "file")
            srv.check_alive()
    finally:
        os.unlink(img)
        os.rmdir(d)


nbdtest.main(main)
