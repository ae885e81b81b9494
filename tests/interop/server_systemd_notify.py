#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""nbd-serverd under a service manager's eyes (Type=notify), with a
notify socket of the test's own (tests/lib/sdnotify.py):

- READY=1 comes only once the server accepts: at the moment it arrives,
  the TCP port and the Unix socket both take a connection;
- STATUS= names the exports and counts connections: "1 export (disk),
  0 connections", then 1 with a client connected, 0 once it left;
- SIGHUP after a new export in the file: RELOADING=1 (with
  MONOTONIC_USEC) then READY=1, then a STATUS= with both exports; a
  failed reload says READY=1 too (the server serves on);
- no worker holds NOTIFY_SOCKET (a compromised one must not speak for
  the service);
- SIGTERM: STOPPING=1, and exit 0.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import nbdtest
import sdnotify
from nbdtest import check


def connects(addr):
    fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
    with socket.socket(fam) as s:
        s.settimeout(2)
        try:
            s.connect(addr)
            return True
        except OSError:
            return False


def worker_pids(log):
    return [int(p) for p in re.findall(r"connection from .*: worker (\d+)", log)]


def main():
    nbdtest.need("nbdinfo")
    tmp = tempfile.mkdtemp(prefix="cnbd-notify.")
    os.chmod(tmp, 0o755)
    port = nbdtest.free_port()
    sock = os.path.join(tmp, "nbd.sock")
    conf = os.path.join(tmp, "cnbd.conf")
    exports = {"disk": {"backend": "memory", "size": "1M"}}
    with open(conf, "w") as f:
        f.write(nbdtest.config_text(exports, ["127.0.0.1:%d" % port, "unix:" + sock]))
    ready_seen = []

    def on_message(msg):
        # What a unit ordered after this one would do at READY=1.
        if msg.get("READY") == "1" and not ready_seen:
            ready_seen.append((connects(("127.0.0.1", port)), connects(sock)))

    n = sdnotify.Listener(os.path.join(tmp, "notify"), on_message)
    log = os.path.join(tmp, "server.log")
    env = dict(os.environ, NOTIFY_SOCKET=n.path)
    proc = subprocess.Popen([nbdtest.SERVERD, "-f", "-c", conf], env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        n.wait(lambda m: m.get("READY") == "1", 10, "READY=1")
        check(ready_seen == [(True, True)],
              "at READY=1 the TCP port / Unix socket took a connection: %s" % ready_seen)
        n.wait(lambda m: m.get("STATUS") == "1 export (disk), 0 connections", 5,
               "STATUS=1 export (disk), 0 connections")

        # A connected client counts; its leaving too.
        import nbd
        h = nbd.NBD()
        h.connect_tcp("127.0.0.1", str(port))
        mark = n.count()
        n.wait(lambda m: m.get("STATUS") == "1 export (disk), 1 connection", 5,
               "STATUS with the connection", mark)
        h.shutdown()
        del h
        n.wait(lambda m: m.get("STATUS") == "1 export (disk), 0 connections", 5,
               "STATUS after the client left", n.count() - 1)

        # A worker gets no NOTIFY_SOCKET.
        workers = worker_pids(open(log, errors="replace").read())
        check(workers, "no worker in the log")
        h = nbd.NBD()
        h.connect_unix(sock)
        time.sleep(0.3)
        live = [p for p in worker_pids(open(log, errors="replace").read())
                if os.path.exists("/proc/%d/environ" % p)]
        check(live, "the connected client's worker is not found")
        for p in live:
            env_bytes = open("/proc/%d/environ" % p, "rb").read()
            check(b"NOTIFY_SOCKET" not in env_bytes,
                  "worker %d holds NOTIFY_SOCKET: %r" % (p, env_bytes))
        h.shutdown()
        del h

        # Reload: RELOADING=1 then READY=1, then the new export in STATUS.
        exports["more"] = {"backend": "null", "size": "1M"}
        with open(conf, "w") as f:
            f.write(nbdtest.config_text(exports, ["127.0.0.1:%d" % port, "unix:" + sock]))
        mark = n.count()
        proc.send_signal(signal.SIGHUP)
        i, msg = n.wait(lambda m: m.get("RELOADING") == "1", 5, "RELOADING=1", mark)
        check(re.fullmatch(r"[0-9]+", msg.get("MONOTONIC_USEC", "")),
              "RELOADING=1 without MONOTONIC_USEC: %s" % msg)
        n.wait(lambda m: m.get("READY") == "1", 5, "READY=1 after the reload", i + 1)
        n.wait(lambda m: m.get("STATUS") == "2 exports (disk, more), 0 connections", 5,
               "STATUS after the reload", mark)
        check("SIGHUP: reloaded" in open(log, errors="replace").read(), "no reload logged")

        # A failed reload is a reload too: READY=1 after it.
        with open(conf, "a") as f:
            f.write("[broken]\nreadonly = maybe\n")
        mark = n.count()
        proc.send_signal(signal.SIGHUP)
        i, _ = n.wait(lambda m: m.get("RELOADING") == "1", 5, "RELOADING=1 (failing)", mark)
        n.wait(lambda m: m.get("READY") == "1", 5, "READY=1 after a failed reload", i + 1)
        check(nbdtest.run(["nbdinfo", "--size", "nbd://127.0.0.1:%d/more" % port]).strip()
              == "1048576", "the server does not serve on after a failed reload")

        mark = n.count()
        proc.send_signal(signal.SIGTERM)
        n.wait(lambda m: m.get("STOPPING") == "1", 5, "STOPPING=1", mark)
        check(proc.wait(10) == 0, "exit status %s after SIGTERM" % proc.returncode)
        check(not n.errors, "checks at a message failed: %s" % n.errors)
        print("messages:", n.since())
    except (AssertionError, nbdtest.TestFailure) as e:
        sdnotify.finish(e, log, proc, n, tmp)
    sdnotify.finish(None, log, proc, n, tmp)
    print("ok")


main()
