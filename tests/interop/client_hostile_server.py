#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""nbd-clientd and nbdctl against a hostile server (tests/lib/hostile_nbd.py),
without a kernel device: docs/client.md "What nbd-clientd trusts of a
server".

The daemon runs in a mount namespace of its own whose /sys/block holds a
fake, free nbd0 (a directory with size 0): the supervisor then connects
and negotiates as for a real device, and only the binding fails (there is
no /dev/nbd0). Every case must end in a clear error within its deadline,
with the daemon still up and answering, and no byte the server chose
reaching a log line, nbdctl's output or a device record unescaped. The
link naming (NBD_INFO_NAME never names /dev/nbd/by-export/) needs a kernel
and udev: tests/kernel/cases/client_hostile_name.sh.
"""

import os
import re
import subprocess
import tempfile
import time

import fake_clientd
import hostile_nbd
import nbdtest
from fake_clientd import CLIENTD, NBDCTL, fail
DEADLINE = 3            # --negotiate-timeout for the stuck cases
SLACK = 2.5             # scheduling on a loaded 2-core machine

# What a server would like to see in a log or on a terminal: a forged
# line, a terminal escape, a bell.
EVIL = b"x\n<3>nbd-clientd: FAKE line\x1b[2J\x07\r\x7f"


def log(msg):
    print(msg, flush=True)


def clean(data, what, logfile=None):
    """No raw control byte (but the newlines that end lines) in data."""
    bad = re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", data)
    if bad:
        fail("%s holds a raw control byte %r: %r" % (what, bad.group(), data[-400:]), logfile)
    if re.search(rb"^<3>nbd-clientd: FAKE", data, re.M):
        fail("%s holds a line the server wrote: %r" % (what, data[-400:]), logfile)


def attach(d, srv, *extra, limit):
    """nbdctl attach to nbd0; (rc, stderr, seconds), failing past limit."""
    t0 = time.monotonic()
    try:
        r = d.ctl("attach", srv.uri(), "--device", "nbd0", "--binding", "ioctl",
                  *extra, timeout=limit)
    except subprocess.TimeoutExpired:
        fail("attach still waiting after %.0f s (the deadline was not kept)" % limit, d.log)
    return r.returncode, r.stderr, time.monotonic() - t0


def stuck_cases(d, srv):
    # A greeting a byte every 0.5 s (each far under the 15 s per-read
    # bound), then replies dripped forever: only a total deadline ends it.
    srv.mode, srv.drip = "drip", 0.5
    p = d.ctl_bg("attach", srv.uri(), "--device", "nbd0", "--binding", "ioctl",
                 "--negotiate-timeout", str(DEADLINE))
    t0 = time.monotonic()
    time.sleep(1)
    # Meanwhile the control socket answers at once: list, and a detach of
    # another device.
    out = d.alive("an attach stuck in negotiation")
    if not re.search(r"^nbd0 +connecting", out, re.M):
        fail("nbd0 is not shown connecting while it negotiates: %s" % out, d.log)
    t1 = time.monotonic()
    r = d.ctl("detach", "nbd999", timeout=10)
    if r.returncode != 0 or time.monotonic() - t1 > 1.5:
        fail("detach of another device while one negotiates: rc %d after %.1f s: %s" %
             (r.returncode, time.monotonic() - t1, r.stderr), d.log)
    try:
        _, err = p.communicate(timeout=DEADLINE + SLACK + 15)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("a dripping server held the attach for over %d s (deadline %d s)" %
             (DEADLINE + SLACK + 15, DEADLINE), d.log)
    took = time.monotonic() - t0
    if p.returncode == 0 or b"did not finish negotiating within 3 s" not in err:
        fail("drip: rc %d, unclear error: %r" % (p.returncode, err), d.log)
    if took > DEADLINE + SLACK:
        fail("drip: the attach took %.1f s, deadline %d s" % (took, DEADLINE), d.log)
    log("drip: refused after %.1f s: %s" % (took, err.decode().strip()))
    d.alive("drip")

    # A detach of the device that is stuck answers at once too, long
    # before its deadline (30 s, the default).
    p = d.ctl_bg("attach", srv.uri(), "--device", "nbd0", "--binding", "ioctl")
    time.sleep(1)
    t1 = time.monotonic()
    r = d.ctl("detach", "nbd0", timeout=20)
    took = time.monotonic() - t1
    if r.returncode != 0 or took > 1.5:
        fail("detach of the device stuck in negotiation: rc %d after %.1f s: %s" %
             (r.returncode, took, r.stderr), d.log)
    _, err = p.communicate(timeout=10)
    if p.returncode == 0 or b"detached while negotiating" not in err:
        fail("the detached attach: rc %d: %r" % (p.returncode, err), d.log)
    log("detach during negotiation answered in %.2f s" % took)
    d.alive("detach during negotiation")

    # nbdctl list shows a URI of several KiB whole (its line is as long
    # as it needs).
    long_export = "%61" * 2000
    p = d.ctl_bg("attach", srv.uri(long_export), "--device", "nbd0", "--binding", "ioctl",
                 "--negotiate-timeout", "2")
    time.sleep(0.7)
    out = d.alive("an attach of a long URI")
    if srv.uri(long_export) not in out:
        fail("nbdctl list cut a %d-byte URI: %r" % (len(srv.uri(long_export)), out[:300]))
    p.communicate(timeout=20)

    # A reply that promises 100 bytes and sends 10; an endless stream of
    # REP_INFO (each reply in time, never an ACK).
    for mode, words in (("short", b"did not finish negotiating within 3 s (stuck while reading the reply to GO)"),
                        ("endless", b"did not finish negotiating within 3 s")):
        srv.mode = mode
        rc, err, took = attach(d, srv, "--negotiate-timeout", str(DEADLINE),
                               limit=DEADLINE + SLACK + 20)
        if rc == 0 or words not in err:
            fail("%s: rc %d, unclear error: %r" % (mode, rc, err), d.log)
        if took > DEADLINE + SLACK:
            fail("%s: the attach took %.1f s, deadline %d s" % (mode, took, DEADLINE), d.log)
        log("%s: refused after %.1f s" % (mode, took))
        d.alive(mode)


def string_cases(d, srv):
    # An error message with control bytes: the attach fails with the
    # server's words made printable, on nbdctl's stderr and in the log.
    srv.mode, srv.error_text = "refuse", EVIL
    rc, err, _ = attach(d, srv, limit=30)
    if rc == 0 or b"NBD_REP_ERR_UNKNOWN" not in err:
        fail("refuse: rc %d: %r" % (rc, err), d.log)
    clean(err.rstrip(b"\n"), "nbdctl attach's error")
    d.alive("refuse")

    # A foreign, newline-laden NBD_INFO_NAME and a description full of
    # control bytes: negotiation succeeds (the binding then fails: there
    # is no /dev/nbd0 here). The name is logged as the server's word,
    # escaped, and the device keeps the name asked for.
    srv.mode = "good"
    srv.info_name = b"other\nuri = nbd://evil/x\nexport = evil" + EVIL
    srv.description = EVIL
    rc, err, _ = attach(d, srv, limit=30)
    if rc == 0 or b"/dev/nbd0" not in err:
        fail("foreign name: expected only the binding to fail: rc %d: %r" % (rc, err), d.log)
    clean(err.rstrip(b"\n"), "nbdctl attach's error")
    text = open(d.log, "rb").read()
    if b"the server calls export 'disk' 'other\\nuri = nbd://evil/x" not in text:
        fail("the server's own name for the export is not logged, escaped", d.log)
    d.alive("foreign name")

    # nbdctl exports: LIST names and INFO descriptions escaped.
    srv.list_names = [(b"disk", EVIL), (b"a\nb\x1b[1m", b""), (b"plain", b"fine")]
    for args in ([], ["--long"]):
        r = subprocess.run([NBDCTL, "exports", "nbd://127.0.0.1:%d" % srv.port] + args,
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            fail("nbdctl exports %s: %r" % (args, r.stderr))
        lines = r.stdout.split(b"\n")
        if len(lines) != 4 or lines[3] != b"":
            fail("nbdctl exports %s: a server string made lines of its own: %r" %
                 (args, r.stdout))
        out = r.stdout.replace(b"\t", b" ")
        clean(out, "nbdctl exports %s" % " ".join(args))
        if b"a\\x0ab\\x1b[1m" not in out:
            fail("nbdctl exports: names not escaped as \\xHH: %r" % r.stdout)
    # ... and a listing dripped forever ends at nbdctl's own deadline.
    srv.mode, srv.drip = "drip", 0.7
    t0 = time.monotonic()
    r = subprocess.run([NBDCTL, "exports", "nbd://127.0.0.1:%d" % srv.port],
                       capture_output=True, timeout=40)
    took = time.monotonic() - t0
    if r.returncode == 0 or b"did not finish negotiating within 10 s" not in r.stderr or took > 13:
        fail("nbdctl exports from a dripping server: rc %d after %.1f s: %r" %
             (r.returncode, took, r.stderr))
    log("nbdctl exports, dripped: refused after %.1f s" % took)

    clean(open(d.log, "rb").read(), "the daemon's log", d.log)
    records = os.path.join(d.tmp, "run", "devices")
    if os.path.isdir(records) and os.listdir(records):
        fail("device records were left: %s" % os.listdir(records))


def main():
    if os.geteuid() != 0:
        nbdtest.fail("needs root (nbd-clientd runs as root; unshare -m)")
    nbdtest.need("unshare")
    for exe in (CLIENTD, NBDCTL):
        if not os.access(exe, os.X_OK):
            nbdtest.fail("%s is not built" % exe)
    tmp = tempfile.mkdtemp(prefix="cnbd-hostile.")
    srv = hostile_nbd.HostileServer()
    # A device no host has: "another device" to detach while one attach
    # is stuck in negotiation.
    d = fake_clientd.Daemon(tmp, "[nbd999]\nuri = nbd://127.0.0.1:1/other\nbinding = ioctl\n")
    try:
        stuck_cases(d, srv)
        string_cases(d, srv)
        d.alive("every case")
        d.stop()
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
        srv.close()
        subprocess.run(["rm", "-rf", tmp])
    print("ok")


if __name__ == "__main__":
    main()
