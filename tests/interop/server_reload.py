#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Exports that come and go with the files: a drop-in file in exports-dir
and SIGHUP serve a new export at once; deleting it and reloading turns
new clients away (NBD_REP_ERR_UNKNOWN) while a client already connected
keeps reading and writing; a memory export whose size changes serves the
new size to new clients and the old one to the old; an unchanged memory
export keeps its data over reloads; a bad file changes nothing and the
log names file:line; a changed listen is logged as needing a restart."""

import errno
import os
import sys

import nbd
import nbdtest
from nbdtest import check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_helpers as sh  # noqa: E402

PATTERN = bytes(range(256)) * 16        # 4 KiB


def connect(srv, name):
    h = nbd.NBD()
    h.connect_uri(srv.uri(name))
    return h


def refused_unknown(srv, name):
    """A new client asking for name gets NBD_REP_ERR_UNKNOWN."""
    h, err, said = sh.server_message(lambda h: h.connect_uri(srv.uri(name)))
    check(err is not None, "a new client still reached removed export '%s'" % name)
    # libnbd's words for NBD_REP_ERR_UNKNOWN, with ENOENT.
    check("has no export named" in err.string and nbdtest.nbd_errno(err) == errno.ENOENT,
          "expected an unknown-export error for '%s', got: %s" % (name, err.string))
    check(said == "no export named '%s'" % name,
          "the server said %r, want \"no export named '%s'\"" % (said, name))


def add_then_remove(srv, d):
    d.write("fresh.conf", sh.section("fresh", backend="memory", size="2M",
                                     description="dropped in"))
    line = sh.sighup(srv)
    check("1 added" in line, "reload after a new file: %s" % line)
    check("fresh" in sh.list_names(srv), "nbdinfo --list lacks the new export")
    old = connect(srv, "fresh")
    old.pwrite(PATTERN, 8192)
    check(old.pread(4096, 8192) == PATTERN, "the new export does not serve data")

    d.remove("fresh.conf")
    line = sh.sighup(srv)
    check("1 removed" in line, "reload after deleting the file: %s" % line)
    check("fresh" not in sh.list_names(srv), "a removed export is still listed")
    refused_unknown(srv, "fresh")
    # The client that was connected goes on with what it had.
    old.pwrite(PATTERN[::-1], 0)
    check(old.pread(4096, 0) == PATTERN[::-1], "old client: write/read after removal")
    check(old.pread(4096, 8192) == PATTERN, "old client lost data after removal")
    old.flush()
    old.shutdown()


def resize(srv, d):
    d.write("sized.conf", sh.section("sized", backend="memory", size="1M"))
    sh.sighup(srv)
    old = connect(srv, "sized")
    old.pwrite(PATTERN, 0)
    d.write("sized.conf", sh.section("sized", backend="memory", size="3M"))
    line = sh.sighup(srv)
    check("1 changed" in line, "reload after a size change: %s" % line)
    new = connect(srv, "sized")
    check(new.get_size() == 3 << 20, "new client sees %d bytes, want 3 MiB" % new.get_size())
    new.pwrite(PATTERN, 2 << 20)
    check(new.pread(4096, 2 << 20) == PATTERN, "new definition does not serve data")
    check(old.get_size() == 1 << 20, "old client's size changed")
    check(old.pread(4096, 0) == PATTERN, "old client lost its data on resize")
    nbdtest.expect_nbd_error(errno.EINVAL, old.pread, 4096, 2 << 20,
                             what="old client reading past its 1 MiB")
    old.shutdown()
    new.shutdown()


def bad_file(srv, d):
    before = sh.list_names(srv)
    d.write("zz-bad.conf", "[broken]\nbackend = memory\nsize 5M\n")
    line = sh.sighup(srv)
    check("reload failed" in line, "a bad file was accepted: %s" % line)
    check(os.path.join(d.path, "zz-bad.conf") + ":3: " in line,
          "the log does not name file:line: %s" % line)
    check(sh.list_names(srv) == before, "a failed reload changed the exports")
    rc, out, err = sh.nbdctl(srv, "reload", check=False)
    check(rc == 1 and "zz-bad.conf:3: syntax error" in err,
          "nbdctl server reload with a bad file: rc %d, %s" % (rc, err))
    d.remove("zz-bad.conf")


def restart_only(srv):
    with open(srv.config) as f:
        text = f.read()
    with open(srv.config, "w") as f:
        f.write(text.replace("[server]\n", "[server]\nlisten = 127.0.0.1:1\n", 1))
    line = sh.sighup(srv)
    check("restart to apply: listen" in line, "a changed listen: %s" % line)
    check("[server] listen changed" in srv.log_text(), "no restart warning in the log")
    with open(srv.config, "w") as f:
        f.write(text)
    sh.sighup(srv)


def main():
    nbdtest.need("nbdinfo")
    d = sh.Dir()
    exports = {"keep": {"backend": "memory", "size": "1M"}}
    try:
        with sh.server(exports, exports_dir=d) as srv:
            h = connect(srv, "keep")
            h.pwrite(PATTERN, 4096)
            h.shutdown()
            add_then_remove(srv, d)
            resize(srv, d)
            bad_file(srv, d)
            restart_only(srv)
            # Through all those reloads "keep" never changed: same data.
            h = connect(srv, "keep")
            check(h.pread(4096, 4096) == PATTERN, "an unchanged memory export lost its data")
            h.shutdown()
            check("export 'keep'" not in srv.log_text().split("SIGHUP")[1],
                  "an unchanged export was reported changed")
            srv.check_alive()
    finally:
        d.cleanup()


nbdtest.main(main)
