# SPDX-License-Identifier: MIT
"""Helpers for python interop tests: run nbd-serverd with a config made
from a dict, for the length of a `with` block.

    import nbdtest
    with nbdtest.Server({"disk": {"backend": "memory", "size": "64M"}}) as srv:
        h = srv.connect("disk")          # an nbd.NBD handle, over TCP
        srv.uri("disk")                   # nbd://127.0.0.1:PORT/disk
        srv.unix_uri("disk")              # nbd+unix:///disk?socket=...
        srv.check(h.get_size() == 64 << 20, "size")

On an exception inside the block, or when the server died on its own or
was killed by a signal other than ours, the last lines of the server log
are printed and the test fails. Every tool a test needs must exist:
need("nbdinfo") fails loudly, it never skips.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("CNBD_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CNBD_BUILD", os.path.join(SRC, "build"))
if not os.path.isabs(BUILD):
    BUILD = os.path.join(SRC, BUILD)
SERVERD = os.path.join(BUILD, "nbd-serverd")


class TestFailure(Exception):
    pass


def name():
    return os.path.basename(sys.argv[0])


def fail(msg, server=None):
    """Print msg (and the server log tail) and exit 1."""
    print("FAIL: %s: %s" % (name(), msg), file=sys.stderr)
    if server is not None:
        server.print_log_tail()
    sys.exit(1)


def check(cond, msg):
    """Raise TestFailure(msg) unless cond."""
    if not cond:
        raise TestFailure(msg)


def need(*tools):
    for t in tools:
        if shutil.which(t) is None:
            fail("required tool '%s' is not installed "
                 "(a missing peer is a failure)" % t)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, timeout=120, input=None, check_rc=True):
    """Run cmd (a list); return stdout as text. Fails with the output if
    it exits non-zero (unless check_rc is False)."""
    print("+ " + " ".join(cmd), file=sys.stderr)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, input=input)
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    if check_rc and p.returncode != 0:
        raise TestFailure("%s exited %d\nstdout:\n%s\nstderr:\n%s" %
                          (cmd[0], p.returncode, out, err))
    if err:
        sys.stderr.write(err)
    return out if check_rc else (p.returncode, out, err)


def _value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def config_text(exports, listen, server=None, backend_dir=None):
    lines = ["[server]"]
    for addr in listen:
        lines.append("listen = %s" % addr)
    lines.append("backend-dir = %s" %
                 (backend_dir or os.path.join(BUILD, "backends")))
    if os.getuid() == 0:
        lines.append("user = nobody")
    server = dict(server or {})
    # Never the system's /run/cnbd/serverd.sock: a test asks for its own.
    server.setdefault("control", "off")
    for k, v in server.items():
        lines.append("%s = %s" % (k, _value(v)))
    for ename, params in exports.items():
        lines.append("")
        lines.append("[%s]" % ename)
        for k, v in params.items():
            lines.append("%s = %s" % (k, _value(v)))
    return "\n".join(lines) + "\n"


def _probe(addr):
    try:
        if isinstance(addr, str):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(1)
            s.connect(addr)
        else:
            s = socket.create_connection(addr, timeout=1)
        s.close()
        return True
    except OSError:
        return False


class Server:
    """nbd-serverd with the given exports, listening on a fresh TCP port
    on 127.0.0.1 and (unix=True, the default) a Unix socket in tmp."""

    def __init__(self, exports, server=None, unix=True, tcp=True,
                 verbose=False, start_timeout=10, listen=()):
        self.exports = exports
        self.extra_listen = list(listen)   # more listen lines, e.g. "[::1]:PORT"
        self.server_opts = server or {}
        self.want_unix = unix
        self.want_tcp = tcp
        self.verbose = verbose
        self.start_timeout = start_timeout
        self.proc = None
        self._stopped_by_us = False

    # -- set-up and tear-down -------------------------------------------
    def __enter__(self):
        self._tmpobj = tempfile.TemporaryDirectory(prefix="cnbd-test.")
        self.tmp = self._tmpobj.name
        # Workers drop to nobody: let them reach files and sockets here.
        os.chmod(self.tmp, 0o755)
        self.port = free_port() if self.want_tcp else None
        self.sock = os.path.join(self.tmp, "nbd.sock") if self.want_unix else None
        listen = []
        if self.want_tcp:
            listen.append("127.0.0.1:%d" % self.port)
        if self.want_unix:
            listen.append("unix:%s" % self.sock)
        listen += self.extra_listen
        self.listen = listen
        self.config = os.path.join(self.tmp, "cnbd.conf")
        with open(self.config, "w") as f:
            f.write(config_text(self.exports, listen, self.server_opts))
        self.log = os.path.join(self.tmp, "server.log")
        self.start()
        return self

    def start(self):
        if not os.access(SERVERD, os.X_OK):
            fail("%s is not built" % SERVERD)
        cmd = [SERVERD, "-f", "-c", self.config] + (["-v"] if self.verbose else [])
        logf = open(self.log, "ab")
        logf.write(("=== %s\n" % " ".join(cmd)).encode())
        logf.flush()
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        self._stopped_by_us = False
        addr = ("127.0.0.1", self.port) if self.want_tcp else self.sock
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.print_log_tail()
                fail("nbd-serverd exited %d during start-up" % self.proc.returncode)
            if _probe(addr):
                if self.want_tcp and self.want_unix:
                    # Both must be up before a test uses either.
                    if not _probe(self.sock):
                        time.sleep(0.05)
                        continue
                return
            time.sleep(0.05)
        self.print_log_tail()
        fail("nbd-serverd did not accept on %s within %d s" %
             (addr, self.start_timeout))

    def stop(self):
        """SIGTERM, wait up to 5 s, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._stopped_by_us = True
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                print("nbd-serverd ignored SIGTERM for 5 s; killing it",
                      file=sys.stderr)
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __exit__(self, etype, evalue, tb):
        died = self.proc is not None and self.proc.poll() is not None \
            and not self._stopped_by_us
        rc = self.stop()
        bad = None
        if died:
            bad = "nbd-serverd died during the test (exit %s)" % rc
        elif rc is not None and rc < 0 and -rc not in (signal.SIGTERM,):
            bad = "nbd-serverd ended by signal %d when stopped" % -rc
        if etype is not None or bad:
            if etype is not None and not issubclass(etype, SystemExit):
                import traceback
                traceback.print_exception(etype, evalue, tb)
                print("FAIL: %s: %s" % (name(), evalue), file=sys.stderr)
            if bad:
                print("FAIL: %s: %s" % (name(), bad), file=sys.stderr)
            self.print_log_tail()
            self._tmpobj.cleanup()
            sys.exit(1)
        self._tmpobj.cleanup()
        return False

    # -- while it runs ---------------------------------------------------
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        check(self.alive(), "nbd-serverd is no longer running (exit %s)" %
              (self.proc.returncode if self.proc else None))

    def rewrite_config(self, exports=None, server=None):
        """Writes the config anew (same listen lines), for a reload."""
        if exports is not None:
            self.exports = exports
        if server is not None:
            self.server_opts = server
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(config_text(self.exports, self.listen, self.server_opts))
        os.rename(tmp, self.config)

    def print_log_tail(self, n=40):
        try:
            with open(self.log, errors="replace") as f:
                lines = f.readlines()
        except OSError:
            return
        print("--- last lines of the server log:", file=sys.stderr)
        sys.stderr.write("".join(lines[-n:]))

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def uri(self, export):
        return "nbd://127.0.0.1:%d/%s" % (self.port, export)

    def unix_uri(self, export):
        return "nbd+unix:///%s?socket=%s" % (export, self.sock)

    def connect(self, export, unix=False, strict=None, structured=None):
        """An nbd.NBD handle connected to export. strict=0 turns libnbd's
        own checks off, so that the server is the one that answers."""
        import nbd
        h = nbd.NBD()
        h.set_handle_name(name())
        if strict is not None:
            h.set_strict_mode(strict)
        if structured is not None:
            h.set_request_structured_replies(structured)
        h.set_export_name(export)
        if unix:
            h.connect_unix(self.sock)
        else:
            h.connect_tcp("127.0.0.1", str(self.port))
        return h

    def tcp_socket(self, timeout=10):
        """A raw TCP connection to the server."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


def nbd_errno(e):
    """The errno of an nbd.Error as a number (libnbd's python binding
    gives the symbolic name, e.g. "EINVAL"); None when it has none."""
    import errno as errno_mod
    v = e.errno
    if isinstance(v, str):
        return getattr(errno_mod, v, None)
    return v


def expect_nbd_error(errno_value, fn, *args, what=None):
    """Call fn(*args); it must raise nbd.Error with this errno (or one of
    them, when errno_value is a tuple)."""
    import nbd
    import errno as errno_mod
    what = what or getattr(fn, "__name__", "call")
    allowed = errno_value if isinstance(errno_value, tuple) else (errno_value,)
    names = "/".join(errno_mod.errorcode.get(v, str(v)) for v in allowed)
    try:
        fn(*args)
    except nbd.Error as e:
        got = nbd_errno(e)
        check(got in allowed,
              "%s: expected %s, got errno %s (%s)" %
              (what, names, errno_mod.errorcode.get(got, e.errno), e.string))
        return e
    raise TestFailure("%s succeeded; expected %s" % (what, names))


def main(fn):
    """Run fn(); TestFailure and other exceptions become exit 1 with the
    message on stderr."""
    try:
        fn()
    except TestFailure as e:
        fail(str(e))
    print("ok: %s" % name())
