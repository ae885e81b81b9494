#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Socket activation (nbd-serverd.socket), with systemd's own
systemd-socket-activate in the socket unit's place: it listens on a TCP
port and a Unix socket and starts the server at the first connection,
with both as LISTEN_FDS.

- The first client (the one that made systemd start the server) is
  served, over TCP and over the Unix socket, by nbdinfo and nbdsh;
- the configuration's own listen line (another port) is not opened, and
  the log says the passed sockets stand for it;
- READY=1 comes (NOTIFY_SOCKET passed through), with a STATUS=;
- at SIGTERM the server leaves the Unix socket file alone (it is
  systemd's), and exits 0;
- a passed descriptor that is not a listening stream socket (a UDP
  socket, a plain file) stops the server at start, exit 1, with the
  descriptor named; LISTEN_FDS for another pid is ignored.
"""

import os
import signal
import socket
import subprocess
import tempfile
import time

import nbdtest
import sdnotify
from nbdtest import check


def start_activated(tmp, conf, port, sock, env):
    log = os.path.join(tmp, "activate.log")
    proc = subprocess.Popen(
        ["systemd-socket-activate", "-E", "NOTIFY_SOCKET", "-l", "127.0.0.1:%d" % port,
         "-l", sock, nbdtest.SERVERD, "-f", "-c", conf],
        env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock):
        check(time.monotonic() < deadline and proc.poll() is None,
              "systemd-socket-activate did not listen: %s" % open(log).read())
        time.sleep(0.05)
    return proc, log


def refused_at_start(tmp, conf, make_fd, what):
    """The server started with one passed descriptor made by make_fd: it
    must exit 1 naming descriptor 3."""
    fd = make_fd()
    # The shell moves it to 3 (this process may hold 3 already) and
    # becomes the server, keeping its pid for LISTEN_PID.
    script = 'eval "exec 3<&$1 $1<&-"; shift; LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"'
    try:
        r = subprocess.run(["sh", "-c", script, "sh", str(fd), nbdtest.SERVERD, "-f",
                            "-c", conf], pass_fds=(fd,), capture_output=True, timeout=20)
    finally:
        os.close(fd)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 1 and "descriptor 3 from systemd is not a listening TCP or Unix stream socket" in err,
          "%s passed as a listening socket: exit %d: %s" % (what, r.returncode, err))


def main():
    nbdtest.need("systemd-socket-activate", "nbdinfo")
    import nbd
    tmp = tempfile.mkdtemp(prefix="cnbd-activate.")
    os.chmod(tmp, 0o755)
    port, own_port = nbdtest.free_port(), nbdtest.free_port()
    sock = os.path.join(tmp, "activated.sock")
    conf = os.path.join(tmp, "cnbd.conf")
    with open(conf, "w") as f:
        f.write(nbdtest.config_text({"disk": {"backend": "memory", "size": "4M"}},
                                    ["127.0.0.1:%d" % own_port]))
    n = sdnotify.Listener(os.path.join(tmp, "notify"))
    env = dict(os.environ, NOTIFY_SOCKET=n.path)
    proc, log = start_activated(tmp, conf, port, sock, env)
    try:
        # This connection is the one that starts the server.
        size = nbdtest.run(["nbdinfo", "--size", "nbd://127.0.0.1:%d/disk" % port]).strip()
        check(size == "4194304", "nbdinfo over the activated TCP socket: %r" % size)
        h = nbd.NBD()
        h.connect_unix(sock)
        h.pwrite(b"activated" * 100, 4096)
        check(h.pread(900, 4096) == b"activated" * 100, "a round trip over the Unix socket")
        h.shutdown()
        del h
        n.wait(lambda m: m.get("READY") == "1", 10, "READY=1")
        n.wait(lambda m: m.get("STATUS", "").startswith("1 export (disk)"), 5, "STATUS=")
        with socket.socket() as s:
            s.settimeout(2)
            check(s.connect_ex(("127.0.0.1", own_port)) != 0,
                  "the configuration's listen line was opened too")
        text = open(log, errors="replace").read()
        for want in ("socket activation: serving the 2 sockets systemd passed",
                     "listening on 127.0.0.1:%d (from systemd)" % port,
                     "listening on unix:%s (from systemd)" % sock):
            check(want in text, "the log lacks %r: %s" % (want, text))
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(10) == 0, "exit status %s after SIGTERM" % proc.returncode)
        check(os.path.exists(sock), "the server removed systemd's Unix socket file")

        udp = lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).detach()
        refused_at_start(tmp, conf, udp, "a UDP socket")
        refused_at_start(tmp, conf, lambda: os.open(conf, os.O_RDONLY), "a file")
        def unlistened():
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            return s.detach()
        refused_at_start(tmp, conf, unlistened, "a TCP socket that does not listen")

        # LISTEN_PID of another process: not ours, the listen lines count.
        srv = subprocess.Popen([nbdtest.SERVERD, "-f", "-c", conf],
                               env=dict(os.environ, LISTEN_PID="1", LISTEN_FDS="1"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not nbdtest._probe(("127.0.0.1", own_port)):
                check(time.monotonic() < deadline and srv.poll() is None,
                      "with another process's LISTEN_PID the server did not listen")
                time.sleep(0.05)
        finally:
            srv.terminate()
            srv.wait(10)
    except (AssertionError, nbdtest.TestFailure) as e:
        sdnotify.finish(e, log, proc, n, tmp)
    sdnotify.finish(None, log, proc, n, tmp)
    print("ok")


main()
