# SPDX-License-Identifier: MIT
"""The NBD servers under comparison: how to start each one on a loopback
port in its own cgroup, check that it serves what we asked for, and stop
it and everything it forked.

Every server exports the same name ("bench") and size; nbdkit ignores the
name, the others need it. The row names are what the report prints.
"""

import os
import signal
import socket
import subprocess
import time

GIB = 1 << 30


def free_port():
    # The kernel's ephemeral port: never one another engineer's test holds.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One running server. `family` is cnbd, peer or ref (reference rows:
    null backends, which do no storage work and so are kept out of the
    cnbd-vs-peer ratios)."""

    def __init__(self, name, family, storage, groups, workdir):
        self.name, self.family, self.storage = name, family, storage
        self.workdir = workdir
        self.port = free_port()
        self.group = groups.new(name)
        self.log = os.path.join(workdir, name + ".log")
        self.proc = None
        self.pidfile = None
        self.tls = None             # the tls.Keys it serves over nbds://

    def uri(self, export="bench"):
        if self.tls:
            return "nbds://127.0.0.1:%d/%s?tls-certificates=%s" % (
                self.port, export, self.tls.client)
        return "nbd://127.0.0.1:%d/%s" % (self.port, export)

    def fio_uri(self):
        """What fio gets: no tls-certificates (fio's libnbd refuses it in a
        URI; tls.py says how fio finds the CA instead)."""
        return self.uri().split("?")[0]

    def fio_home(self):
        return self.tls.home if self.tls else None

    def start(self, argv, size, exports=("bench",)):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         preexec_fn=self.group.preexec)
        self.group.pid = self.proc.pid
        self._wait_listening()
        if self.pidfile:    # nbd-server daemonizes: follow the daemon
            self.group.pid = int(open(self.pidfile).read())
        for e in exports:
            got = int(subprocess.check_output(["nbdinfo", "--size", self.uri(e)]))
            want = size if e == "bench" else None
            if want is not None and got != want:
                raise RuntimeError("%s serves %d bytes, want %d" % (self.name, got, want))
        return self

    def _wait_listening(self, secs=20):
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            if self.proc.poll() not in (None, 0):
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                if self.pidfile and not os.path.exists(self.pidfile):
                    raise OSError("no pid file yet")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("%s did not listen on %d; log %s:\n%s"
                           % (self.name, self.port, self.log, open(self.log).read()[-2000:]))

    def cpu_ns(self):
        return self.group.usage_ns()

    def stop(self):
        # Only what we started: the pids in this server's own cgroup (with
        # the /proc fallback, the one pid we know).
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
            pids = self._alive()
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while self._alive() and time.monotonic() < deadline:
                self.proc.poll()            # reap our direct child
                time.sleep(0.05)
        # A zombie still holds its cgroup: reap our direct child before the
        # rmdir (a daemonized server's zombie is reaped by init).
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            pass
        self.group.remove()

    def _alive(self):
        self.proc.poll()
        alive = []
        for pid in self.group.pids():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        alive.append(pid)
            except OSError:
                pass
        return alive


def cnbd(build, storage, groups, workdir, size, path=None, extra=(), statistics=True,
         tls=None, tls_kernel=None, name=None):
    """nbd-serverd with one backend; `extra` adds (name, path) file exports
    to the same server (the sparse-copy test uses it). statistics=False:
    the row that tells what counting requests costs. With `tls` (a
    tls.Keys), tls = require and its certificates; tls_kernel sets
    tls-kernel."""
    name = name or "cnbd " + storage + ("" if statistics else " no-stats")
    s = Server(name, "ref" if storage == "null" else "cnbd", storage, groups, workdir)
    s.tls = tls
    conf = os.path.join(workdir, "%s.conf" % name.replace(" ", "-"))
    lines = ["[server]", "listen = 127.0.0.1:%d" % s.port,
             "backend-dir = %s" % os.path.join(build, "backends"),
             "user = nobody", "statistics = %s" % ("on" if statistics else "off")]
    if tls:
        lines += ["tls = require", "tls-certificates = %s" % tls.pki]
    if tls_kernel:
        lines.append("tls-kernel = %s" % tls_kernel)
    lines += ["", "[bench]", "backend = %s" % storage]
    lines.append("path = %s" % path if storage == "file" else "size = %d" % size)
    for name, p in extra:
        lines += ["", "[%s]" % name, "backend = file", "path = %s" % p]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    argv = [os.path.join(build, "nbd-serverd"), "-f", "-c", conf]
    return s.start(argv, size, ["bench"] + [n for n, _ in extra])


def cnbd_cow(build, groups, workdir, size, path):
    """nbd-serverd's cow layer over the file backend, a persistent overlay
    (shared by every connection, as nbdkit's cow filter's is), fresh for
    each run."""
    s = Server("cnbd cow+file", "layer", "cow", groups, workdir)
    overlay = os.path.join(workdir, "bench.cow")
    if os.path.exists(overlay):
        os.unlink(overlay)
    conf = os.path.join(workdir, "cnbd-cow.conf")
    lines = ["[server]", "listen = 127.0.0.1:%d" % s.port,
             "backend-dir = %s" % os.path.join(build, "backends"),
             "user = nobody", "", "[bench]", "backend = cow", "base = file",
             "path = %s" % path, "overlay = %s" % overlay]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return s.start([os.path.join(build, "nbd-serverd"), "-f", "-c", conf], size)


def floor(build, groups, workdir, size, uring=False):
    """tests/bench/floor_server.c: no checks, no storage, batched system
    calls. Not a peer: the cost every row is read against. uring=True:
    tests/bench/floor_uring.c, the same floor on io_uring (a row of its
    own; the reference stays the recv/writev floor)."""
    name, prog = ("floor io_uring", "floor_uring") if uring else ("floor", "floor_server")
    s = Server(name, "floor", "none", groups, workdir)
    argv = [os.path.join(build, "tests", "bench", prog), "-s", str(size), str(s.port)]
    return s.start(argv, size)


def nbdkit(storage, groups, workdir, size, path=None, name=None, filters=(), tls=None):
    family = "ref" if storage == "null" else "layer" if filters else "peer"
    s = Server(name or "nbdkit " + storage, family, storage, groups, workdir)
    s.tls = tls
    argv = ["nbdkit", "-f", "-i", "127.0.0.1", "-p", str(s.port)]
    if tls:
        argv += ["--tls=require", "--tls-certificates=" + tls.pki]
    argv += ["--filter=" + f for f in filters]
    argv += ["file", path] if storage == "file" else [storage, str(size)]
    return s.start(argv, size)


def nbd_server(groups, workdir, size, path):
    s = Server("nbd-server file", "peer", "file", groups, workdir)
    conf = os.path.join(workdir, "nbd-server.conf")
    s.pidfile = os.path.join(workdir, "nbd-server.pid")
    # It forks a child per connection like nbd-serverd. Without -d it
    # daemonizes (with -d it would serve one connection and exit); the
    # daemon stays in the cgroup, and the pid file names it.
    with open(conf, "w") as f:
        f.write("[generic]\n    user = root\n    group = root\n"
                "    listenaddr = 127.0.0.1\n    port = %d\n"
                "[bench]\n    exportname = %s\n" % (s.port, path))
    return s.start(["nbd-server", "-C", conf, "-p", s.pidfile], size)


def qemu_nbd(groups, workdir, size, path):
    s = Server("qemu-nbd file", "peer", "file", groups, workdir)
    # --shared=8: the 4-connection workload needs more than the default 1.
    argv = ["qemu-nbd", "-t", "-f", "raw", "-b", "127.0.0.1", "-p", str(s.port),
            "-x", "bench", "--shared=8", path]
    return s.start(argv, size)
