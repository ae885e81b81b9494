#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""allow and deny lists, per export and per server, over IPv4, IPv6 and
Unix sockets (root, and nobody with and without a supplementary group),
seen by real clients and on the wire:

- an export a client may not use is missing from its LIST, and GO,
  INFO and SET_META_CONTEXT get NBD_REP_ERR_POLICY naming the export;
  EXPORT_NAME is closed; the export is served to the clients its lists
  admit (nbdsh writes and reads it back over IPv6, nbdinfo over Unix);
- one log line per refused connection (an INFO then a GO is one);
- [server] deny refuses at accept: the client reads nothing (not even
  the greeting) and no worker is started for it (the master logs every
  worker it starts); 40 refused connections make at most 21 log lines;
- a reload changes the lists for new clients only: a client in
  transmission before it goes on reading and writing, new ones are
  refused (export lists, then [server] lists), and admitted again when
  the lists go."""

import os
import socket
import subprocess
import sys
import time

import nbd
import nbdtest
import rawnbd
from nbdtest import check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_helpers as sh  # noqa: E402

MEM = {"backend": "memory", "size": "1M"}


def exports_v1():
    return {
        "open": dict(MEM),
        "v6only": dict(MEM, allow="::1"),
        "not-local4": dict(MEM, deny="127.0.0.1"),
        "root-only": dict(MEM, allow="uid:0"),
        "disk-group": dict(MEM, allow="group:disk"),
        "tcp-not-nobody": dict(MEM, allow="0.0.0.0/0, ::/0, unix", deny="user:nobody"),
    }


def raw(srv, family):
    if family == "4":
        c = rawnbd.connect_tcp(srv.port)
    elif family == "6":
        s = socket.create_connection(("::1", srv.port6), timeout=10)
        c = rawnbd.Raw(s)
    else:
        c = rawnbd.connect_unix(srv.sock)
    c.handshake()
    return c


def listed(srv, family):
    c = raw(srv, family)
    names = sorted(n for n, _ in c.opt_list())
    c.close()
    return names


def policy(replies, name, what):
    last = replies[-1]
    check(last.type == rawnbd.REP_ERR_POLICY,
          "%s of '%s' answered %#x, want NBD_REP_ERR_POLICY" % (what, name, last.type))
    msg = last.data.decode()
    check(msg == "export '%s' is not open to this client" % name,
          "%s of '%s': the message is %r" % (what, name, msg))


def refused_on_wire(srv, family, name):
    """GO, INFO, SET_META_CONTEXT: POLICY; EXPORT_NAME: closed; and the
    same connection may still GO an export it may use."""
    c = raw(srv, family)
    policy(c.opt_info(name, [rawnbd.INFO_BLOCK_SIZE]), name, "INFO")
    policy(c.opt_go(name), name, "GO")
    c.send_option(rawnbd.OPT_STRUCTURED_REPLY)
    c.replies_until_final(rawnbd.OPT_STRUCTURED_REPLY)
    n = name.encode()
    q = b"base:allocation"
    c.send_option(rawnbd.OPT_SET_META_CONTEXT,
                  len(n).to_bytes(4, "big") + n + (1).to_bytes(4, "big") +
                  len(q).to_bytes(4, "big") + q)
    policy(c.replies_until_final(rawnbd.OPT_SET_META_CONTEXT), name, "SET_META_CONTEXT")
    check(c.opt_go("open")[-1].type == rawnbd.REP_ACK, "GO open after the refusals")
    c.close()
    c = raw(srv, family)
    c.send_option(rawnbd.OPT_EXPORT_NAME, n)
    check(c.closed_within(5), "EXPORT_NAME '%s' was not closed" % name)
    c.close()


def served_on_wire(srv, family, name):
    c = raw(srv, family)
    replies = c.opt_go(name)
    check(replies[-1].type == rawnbd.REP_ACK,
          "GO '%s' over %s answered %#x" % (name, family, replies[-1].type))
    err, _ = c.cmd(rawnbd.CMD_WRITE, 0, 4, data=b"abcd")
    check(err == 0, "write to '%s' over %s: error %d" % (name, family, err))
    err, data = c.cmd(rawnbd.CMD_READ, 0, 4)
    check(err == 0 and data == b"abcd", "read back from '%s' over %s" % (name, family))
    c.disconnect()
    c.close()


def as_user(cmd, user="nobody", groups=None):
    pre = ["setpriv", "--reuid=" + user, "--regid=nogroup"]
    pre += ["--groups=" + groups] if groups else ["--clear-groups"]
    p = subprocess.run(pre + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def unix_users(srv):
    uri = srv.unix_uri
    size = nbdtest.run(["nbdinfo", "--size", uri("root-only")]).strip()
    check(size == str(1 << 20), "root over Unix: root-only has size %s" % size)
    rc, _, err = as_user(["nbdinfo", "--size", uri("root-only")])
    check(rc != 0 and "policy" in err, "nobody got root-only: rc %d %s" % (rc, err))
    rc, _, err = as_user(["nbdinfo", "--size", uri("disk-group")])
    check(rc != 0 and "policy" in err,
          "nobody without groups got disk-group: rc %d %s" % (rc, err))
    rc, out, err = as_user(["nbdinfo", "--size", uri("disk-group")], groups="disk")
    check(rc == 0 and out.strip() == str(1 << 20),
          "nobody in group disk (supplementary) was refused disk-group: %s" % err)
    rc, out, err = as_user(["nbdinfo", "--size", uri("open")])
    check(rc == 0, "nobody was refused open: %s" % err)
    rc, _, err = as_user(["nbdinfo", "--size", uri("tcp-not-nobody")])
    check(rc != 0, "nobody got tcp-not-nobody (deny = user:nobody)")
    rc, out, _ = as_user(["nbdinfo", "--list", "--json", uri("")])
    check(rc == 0, "nobody's LIST")
    check('"root-only"' not in out and '"tcp-not-nobody"' not in out and '"open"' in out,
          "nobody's nbdinfo --list shows %s" % out)


def log_count(srv, text):
    return srv.log_text().count(text)


def one_line_per_refusal(srv):
    before = log_count(srv, "export 'v6only' refused by its allow/deny lists")
    _, err, said = sh.server_message(lambda h: h.connect_uri(srv.uri("v6only")))
    check(err is not None, "libnbd over IPv4 got v6only")
    check(said == "export 'v6only' is not open to this client",
          "libnbd was told %r" % said)
    rc, _, _ = nbdtest.run(["nbdinfo", srv.uri("v6only")], check_rc=False)
    check(rc != 0, "nbdinfo over IPv4 described v6only")
    time.sleep(0.2)
    got = log_count(srv, "export 'v6only' refused by its allow/deny lists") - before
    check(got == 2, "two refused connections (nbdinfo sends INFO and GO) made %d lines" % got)


def nbdsh_over_v6(srv):
    h = nbd.NBD()
    h.connect_uri("nbd://[::1]:%d/v6only" % srv.port6)
    h.pwrite(b"\x77" * 4096, 8192)
    check(h.pread(4096, 8192) == b"\x77" * 4096, "v6only read back over IPv6")
    h.shutdown()


def per_export(srv):
    check(listed(srv, "4") == ["open", "tcp-not-nobody"], "IPv4 LIST: %s" % listed(srv, "4"))
    check(listed(srv, "6") == ["not-local4", "open", "tcp-not-nobody", "v6only"],
          "IPv6 LIST: %s" % listed(srv, "6"))
    want = ["not-local4", "open", "root-only", "tcp-not-nobody"]
    if 6 in os.getgroups() or os.getgid() == 6:
        want.insert(0, "disk-group")
    check(listed(srv, "unix") == want, "Unix LIST (root): %s" % listed(srv, "unix"))
    for name in ("v6only", "not-local4", "root-only", "disk-group"):
        refused_on_wire(srv, "4", name)
    served_on_wire(srv, "4", "tcp-not-nobody")
    refused_on_wire(srv, "6", "root-only")
    served_on_wire(srv, "6", "v6only")
    served_on_wire(srv, "6", "not-local4")
    served_on_wire(srv, "unix", "root-only")
    refused_on_wire(srv, "unix", "v6only")
    nbdsh_over_v6(srv)
    unix_users(srv)
    one_line_per_refusal(srv)


def closed_at_accept(srv, n=1):
    """n IPv4 connections: each closed with nothing sent, no worker."""
    starts = log_count(srv, "info: connection from 127.0.0.1:")
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        data = b""
        try:
            data = s.recv(100)
        except ConnectionResetError:
            pass
        check(data == b"", "a refused client read %r" % data)
        s.close()
    time.sleep(0.2)
    check(log_count(srv, "info: connection from 127.0.0.1:") == starts,
          "the master started a worker for a client its [server] lists refuse")


def reload_lists(srv):
    keeper = rawnbd.negotiated(srv.port, "open")
    check(keeper.cmd(rawnbd.CMD_WRITE, 65536, 4, data=b"keep")[0] == 0, "keeper writes")

    ex = exports_v1()
    ex["open"]["deny"] = "127.0.0.1"
    srv.rewrite_config(exports=ex)
    line = sh.sighup(srv)
    check("reloaded" in line and "1 changed" in line, "reload: %s" % line)
    check(listed(srv, "4") == ["tcp-not-nobody"], "IPv4 LIST after the reload: %s" % listed(srv, "4"))
    refused_on_wire(srv, "6", "root-only")
    c = raw(srv, "4")
    policy(c.opt_go("open"), "open", "GO after the reload")
    c.close()
    served_on_wire(srv, "6", "open")
    err, data = keeper.cmd(rawnbd.CMD_READ, 65536, 4)
    check(err == 0 and data == b"keep", "the connected client reads after the reload: %r"
          % data)
    check(keeper.cmd(rawnbd.CMD_WRITE, 65536, 4, data=b"kept")[0] == 0,
          "the connected client writes after the reload")

    srv.rewrite_config(exports=exports_v1(),
                       server={"control": "off", "deny": "127.0.0.1"})
    sh.sighup(srv)
    closed_at_accept(srv, 40)
    said = log_count(srv, "refused a connection from 127.0.0.1:")
    check(1 <= said <= 20, "40 connections refused at accept made %d lines (rate limit 20)"
          % said)
    served_on_wire(srv, "6", "open")
    err, data = keeper.cmd(rawnbd.CMD_READ, 65536, 4)
    check(err == 0 and data == b"kept", "the connected client reads after the second reload")

    srv.rewrite_config(exports=exports_v1(), server={"control": "off"})
    sh.sighup(srv)
    served_on_wire(srv, "4", "open")
    keeper.disconnect()
    keeper.close()


def main():
    nbdtest.need("nbdinfo", "setpriv")
    port6 = nbdtest.free_port()
    with nbdtest.Server(exports_v1(), listen=["[::1]:%d" % port6]) as srv:
        srv.port6 = port6
        per_export(srv)
        reload_lists(srv)
        srv.check_alive()

    # [server] lists from the start: IPv4 refused at accept, nobody over
    # Unix too; IPv6 and root over Unix served.
    port6 = nbdtest.free_port()
    server = {"allow": "::1, uid:0"}
    with nbdtest.Server({"open": dict(MEM)}, server=server,
                        listen=["[::1]:%d" % port6]) as srv:
        srv.port6 = port6
        time.sleep(0.2)     # the start-up probe, refused too
        before = log_count(srv, "refused a connection from 127.0.0.1:")
        closed_at_accept(srv)
        check(log_count(srv, "refused a connection from 127.0.0.1:") == before + 1,
              "the refusal at accept was not logged once")
        served_on_wire(srv, "6", "open")
        served_on_wire(srv, "unix", "open")
        rc, _, err = as_user(["nbdinfo", "--size", srv.unix_uri("open")])
        check(rc != 0, "nobody over Unix passed [server] allow = ::1, uid:0")
        check("refused a connection from unix(pid" in srv.log_text(),
              "the Unix refusal was not logged")


nbdtest.main(main)
