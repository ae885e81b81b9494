# SPDX-License-Identifier: MIT
"""A command with a terminal (a pty) for its stdout or its stderr, for the
tests of what a program prints for people (nbdctl's tables and status
lines): isatty() is true there, as in a shell.

    rc, tty_bytes, other_bytes = pty_run.run(["nbdctl", "list"])
    rc, tty_bytes, out = pty_run.run(cmd, stream="stderr")
"""

import os
import subprocess


def run(cmd, stream="stdout", timeout=60):
    """(exit status, what went to the terminal with CRLF as LF, the other
    stream's bytes)."""
    master, slave = os.openpty()
    io = {"stdout": slave, "stderr": subprocess.PIPE} if stream == "stdout" else \
         {"stdout": subprocess.PIPE, "stderr": slave}
    p = subprocess.Popen(cmd, **io)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:         # EIO: the last writer closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    other = (p.stderr if stream == "stdout" else p.stdout).read()
    p.wait(timeout)
    return p.returncode, out.replace(b"\r\n", b"\n"), other
