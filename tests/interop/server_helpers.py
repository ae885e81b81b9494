# SPDX-License-Identifier: MIT
"""Helpers for the server_* python tests of exports that change at run
time: a server with an exports-dir and a control socket, reloads that
wait for their log line, nbdctl server, lease counts. Not a test itself
(not executable); import it after nbdtest:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import server_helpers as sh
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import nbdtest

NBDCTL = os.path.join(nbdtest.BUILD, "nbdctl")


class Dir:
    """An exports-dir: files written into it, removed at the end."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="cnbd-exports.")
        os.chmod(self.path, 0o755)

    def write(self, name, text):
        # Written aside and renamed, as an operator's tool should: a
        # reload never sees half a file.
        tmp = os.path.join(self.path, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(self.path, name))

    def remove(self, name):
        os.unlink(os.path.join(self.path, name))

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def section(name, **keys):
    lines = ["[%s]" % name]
    for k, v in keys.items():
        lines.append("%s = %s" % (k.replace("_", "-"), v))
    return "\n".join(lines) + "\n"


def server(exports, exports_dir=None, **kw):
    """nbdtest.Server with exports-dir and a control socket (its path is
    srv.control, in a directory of its own removed at exit). Use it in
    a with statement, as nbdtest.Server."""
    ctl_dir = tempfile.mkdtemp(prefix="cnbd-ctl.")
    os.chmod(ctl_dir, 0o755)     # the socket's own mode is what keeps others out
    atexit.register(shutil.rmtree, ctl_dir, True)
    opts = dict(kw.pop("server", {}))
    opts["control"] = os.path.join(ctl_dir, "control.sock")
    if exports_dir:
        opts["exports-dir"] = exports_dir.path
    srv = nbdtest.Server(exports, server=opts, **kw)
    srv.control = opts["control"]
    return srv


def _count(srv, text):
    return srv.log_text().count(text)


def sighup(srv, timeout=10):
    """SIGHUP, then waits for the reload's log line; returns it."""
    marks = ("SIGHUP: reloaded", "SIGHUP: reload failed")
    before = [_count(srv, m) for m in marks]
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m, b in zip(marks, before):
            if _count(srv, m) > b:
                lines = [l for l in srv.log_text().splitlines() if m in l]
                return lines[-1]
        time.sleep(0.02)
    raise nbdtest.TestFailure("no reload line in the log %d s after SIGHUP" % timeout)


def nbdctl(srv, *args, user=None, check=True):
    """nbdctl server --socket ... ARGS: (rc, stdout, stderr). With user,
    as that user (setpriv, no groups)."""
    cmd = [NBDCTL, "server", "--socket", srv.control] + list(args)
    if user:
        cmd = ["setpriv", "--reuid=" + user, "--regid=nogroup",
               "--clear-groups"] + cmd
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    out, err = p.stdout.decode(), p.stderr.decode()
    if check and p.returncode != 0:
        raise nbdtest.TestFailure("%s exited %d: %s%s" %
                                  (" ".join(cmd), p.returncode, out, err))
    return p.returncode, out, err


def exports(srv):
    """{name: (backend, connections, max)} from nbdctl server list (names
    of at most 20 characters: the column nbdctl pads them to)."""
    _, out, _ = nbdctl(srv, "list")
    rows = {}
    for line in out.splitlines()[1:]:
        backend, conns, limit = line[21:].split(None, 3)[:3]
        rows[line[:20].rstrip()] = (backend, int(conns), limit)
    return rows


def connections(srv, name):
    return exports(srv)[name][1]


def wait_connections(srv, name, want, timeout=2):
    """Lease counts settle once the master has reaped: wait for want."""
    deadline = time.monotonic() + timeout
    while True:
        got = connections(srv, name)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def list_names(srv):
    out = nbdtest.run(["nbdinfo", "--list", "--json", srv.uri("")])
    return [e["export-name"] for e in json.loads(out)["exports"]]


def server_message(fn):
    """Runs fn(h) on a fresh libnbd handle with debug messages captured;
    returns (h, the nbd.Error or None, the server's error message or
    None): libnbd puts the server's message in its debug output only."""
    import nbd
    h = nbd.NBD()
    msgs = []
    h.set_debug(True)
    h.set_debug_callback(lambda ctx, m: msgs.append(m))
    err = None
    try:
        fn(h)
    except nbd.Error as e:
        err = e
    said = [m.split("server error message: ", 1)[1] for m in msgs
            if "server error message: " in m]
    return h, err, (said[-1] if said else None)
