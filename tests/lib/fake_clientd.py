# SPDX-License-Identifier: MIT
"""nbd-clientd without a kernel device, for interop tests (root): the
daemon runs in a mount namespace of its own whose /sys/block holds a
fake, free nbd0 (a directory with size 0). Its supervisors then connect
and negotiate as for a real device, and only the binding fails (there is
no /dev/nbd0).

    d = fake_clientd.Daemon(tmp, "[nbd999]\\nuri = nbd://127.0.0.1:1/x\\n")
    d.ctl("list")                    # nbdctl --socket d.sock list
    d.alive("what just happened")    # up and answering within 1.5 s
    d.stop()
"""

import os
import subprocess
import sys
import time

import nbdtest

CLIENTD = os.path.join(nbdtest.BUILD, "nbd-clientd")
NBDCTL = os.path.join(nbdtest.BUILD, "nbdctl")


def fail(msg, logfile=None):
    if logfile:
        sys.stderr.write("--- daemon log ---\n%s\n" %
                         open(logfile, errors="replace").read()[-3000:])
    nbdtest.fail(msg)


class Daemon:
    def __init__(self, tmp, devices, args=(), env=None):
        """devices: the devices file's text; args: more options; env:
        the daemon's environment (None: the test's)."""
        self.tmp = tmp
        self.sock = os.path.join(tmp, "run", "clientd.sock")
        self.log = os.path.join(tmp, "clientd.log")
        self.conf = os.path.join(tmp, "devices.conf")
        os.makedirs(os.path.dirname(self.sock), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(devices)
        fake = ("mount -t tmpfs cnbd-fake-sys /sys/block && mkdir /sys/block/nbd0 && "
                "echo 0 > /sys/block/nbd0/size && exec \"$@\"")
        # unshare and sh exec: the daemon keeps this process's pid.
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", fake, "sh",
             CLIENTD, "-f", "-M", "-v", "-c", self.conf, "-s", self.sock] + list(args),
            stderr=open(self.log, "wb"), env=env)
        for _ in range(100):
            if self.ctl("list").returncode == 0:
                return
            time.sleep(0.1)
        fail("nbd-clientd did not answer", self.log)

    def ctl(self, *args, timeout=30):
        return subprocess.run([NBDCTL, "--socket", self.sock] + list(args),
                              capture_output=True, timeout=timeout)

    def ctl_bg(self, *args):
        return subprocess.Popen([NBDCTL, "--socket", self.sock] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def alive(self, what):
        if self.proc.poll() is not None:
            fail("the daemon died (%s), status %s" % (what, self.proc.returncode), self.log)
        t0 = time.monotonic()
        r = self.ctl("list", timeout=5)
        if r.returncode != 0 or time.monotonic() - t0 > 1.5:
            fail("nbdctl list after %s: rc %d in %.1f s: %s" % (
                what, r.returncode, time.monotonic() - t0, r.stderr), self.log)
        return r.stdout.decode()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("the daemon did not stop on SIGTERM", self.log)
