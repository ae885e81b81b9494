#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Strings a client chooses reach the server's log escaped: a raw client
sends export names holding a newline followed by a whole forged log
line, an ESC [ 31m terminal escape, a backslash and the bytes 0x80-0xff
in INFO, GO, SET_META_CONTEXT and EXPORT_NAME, and a TLS client offers
such a PSK identity. The log (nbd-serverd -v, so that refusals logged at
debug level show too) then has no forged line, no ESC, no byte outside
printable ASCII, and each name in its escaped form: printable ASCII
kept, \\n for a newline, \\xNN for every other byte (the backslash too),
and a long name cut with "..."."""

import os
import struct

import nbdtest
import rawnbd
from nbdtest import check

FORGED = b"nbd-serverd[1]: error: FORGED LINE"
HIGH = bytes(range(0x80, 0x100))


def escaped(raw):
    out = ""
    for b in raw:
        if b == 0x0a:
            out += "\\n"
        elif 0x20 <= b < 0x7f and b != 0x5c:
            out += chr(b)
        else:
            out += "\\x%02x" % b
    return out.encode()


def names():
    return {
        "newline": b"a\n" + FORGED,
        "escape": b"red\x1b[31mRED\x1b[0m\\",
        # 128 bytes escape to 512 characters: longer than a log line holds.
        "high": b"hi" + HIGH[:40],
        "long": b"L" + HIGH,
    }


def meta_data(name):
    q = b"base:allocation"
    return struct.pack(">I", len(name)) + name + struct.pack(">II", 1, len(q)) + q


def send_all(srv):
    for tag, name in names().items():
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        for opt in (rawnbd.OPT_INFO, rawnbd.OPT_GO):
            r = c.opt_info(name, [rawnbd.INFO_NAME], option=opt)[-1]
            check(r.type == rawnbd.REP_ERR_UNKNOWN, "%s %d: %#x" % (tag, opt, r.type))
        c.send_option(rawnbd.OPT_STRUCTURED_REPLY)
        c.replies_until_final(rawnbd.OPT_STRUCTURED_REPLY)
        c.send_option(rawnbd.OPT_SET_META_CONTEXT, meta_data(name))
        r = c.replies_until_final(rawnbd.OPT_SET_META_CONTEXT)[-1]
        check(r.type == rawnbd.REP_ERR_UNKNOWN, "%s SET_META_CONTEXT: %#x" % (tag, r.type))
        c.send_option(rawnbd.OPT_EXPORT_NAME, name)
        check(c.closed_within(5), "%s: EXPORT_NAME of no export was not closed" % tag)
        c.close()


def psk_attempt(srv, tmp, identity):
    """A TLS-PSK client offering identity, which the server does not know."""
    import nbd
    path = os.path.join(tmp, "client.psk")
    with open(path, "wb") as f:
        f.write(identity + b":" + b"ab" * 32 + b"\n")
    h = nbd.NBD()
    h.set_tls(nbd.TLS_REQUIRE)
    h.set_tls_psk_file(path)
    h.set_tls_username(identity.decode())
    h.set_export_name("disk")
    try:
        h.connect_tcp("127.0.0.1", str(srv.port))
    except nbd.Error:
        return
    raise nbdtest.TestFailure("TLS with an unknown PSK identity was accepted")


def check_log(log, identity):
    lines = log.split(b"\n")
    for line in lines:
        check(not line.startswith(FORGED), "a client forged a log line: %r" % line)
        check(b"\x1b" not in line, "an ESC reached the log: %r" % line)
        bad = [b for b in line if b >= 0x7f or (b < 0x20 and b != 0x09)]
        check(not bad, "bytes %r reached the log: %r" % (bytes(bad[:8]), line))
    n = names()
    for tag in ("newline", "escape", "high"):
        want = escaped(n[tag])
        for what in (b"no export named '" + want + b"'",
                     b"EXPORT_NAME '" + want + b"': no such export"):
            check(what in log, "the log lacks %r" % what)
    # The long one: its first escaped bytes, then the marker.
    check(escaped(n["long"])[:40] in log and b"...': no such export" in log,
          "the long name is not cut with '...'")
    want = b"unknown PSK identity '" + escaped(identity) + b"'"
    check(want in log, "the log lacks %r" % want)


def main():
    nbdtest.need("nbdinfo")
    import tempfile
    identity = "ev\x1b[31mil\u00e9\u009b".encode()
    with tempfile.TemporaryDirectory(prefix="cnbd-psk.") as tmp:
        os.chmod(tmp, 0o755)
        psk = os.path.join(tmp, "server.psk")
        with open(psk, "w") as f:
            f.write("alice:" + "cd" * 32 + "\n")
        os.chmod(psk, 0o600)
        with nbdtest.Server({"disk": {"backend": "memory", "size": "1M"}},
                            server={"tls": "on", "tls-psk-file": psk},
                            verbose=True) as srv:
            send_all(srv)
            psk_attempt(srv, tmp, identity)
            srv.check_alive()
            with open(srv.log, "rb") as f:
                log = f.read()
            check_log(log, identity)


if __name__ == "__main__":
    nbdtest.main(main)
