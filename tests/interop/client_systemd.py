#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""nbd-clientd under a service manager's eyes, without a kernel device
(tests/lib/fake_clientd.py; root), and nbdctl's list in its three forms:

- READY=1 once the devices file is applied: at that moment nbdctl list
  shows the file's entry; STATUS= names each device and its state;
- --systemd-mark: /proc/PID/cmdline starts with '@' (what systemd's
  last killing spree spares); stderr as the journal's stream: every
  line starts with its priority;
- SIGHUP and nbdctl reload: RELOADING=1, READY=1; a new entry is
  attached, one that left the file stays (said), a URI that changed is
  said and not applied, a broken file changes nothing and nbdctl reload
  exits 1 with file:line;
- nbdctl list --json parses (python json) to the documented schema,
  ASCII only, with an export name full of control bytes, quotes,
  backslashes and a byte that is not UTF-8, and a hostile server's
  refusal text in "error"; the plain form keeps its fixed columns and
  the table (on a pty) aligns them, neither with a raw control byte;
- nbdctl wait and attach, when they last, show a status line on a
  terminal's stderr (a pty), redrawn in place and cleared before the
  final message; on a pipe none; wait exits 1 at its timeout, also for a
  device the daemon lacks or a daemon that does not answer (each said),
  2 for a name that is not nbdN;
- SIGTERM: STOPPING=1.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

import fake_clientd
import hostile_nbd
import nbdtest
import pty_run
import sdnotify
from fake_clientd import NBDCTL, fail

# Percent-escaped in the URI; what the daemon holds as the export's name.
HOSTILE_PATH = "%1b%5b2J%22q%5c%0anbd0%20x%c3%a9%ff"
HOSTILE_NAME = "\x1b[2J\"q\\\nnbd0 x\u00e9\ufffd"
EVIL = b"no\n<3>FAKE \"line\"\x1b[2J\x07 \\ \xff\xfe end"

DEVICE_KEYS = {"device": (str, type(None)), "spec": str, "state": str, "binding": str,
               "size": int, "connections": int, "readonly": bool, "timeout": int,
               "dead-timeout": int, "negotiate-timeout": int, "reconnects": int,
               "tls": str, "source": str, "uri": str, "export": str,
               "error": (str, type(None))}


def raw_controls(data):
    return re.findall(rb"[\x00-\x09\x0b-\x1f\x7f]", data)


def list_json(d):
    r = d.ctl("list", "--json")
    if r.returncode != 0:
        fail("nbdctl list --json: rc %d: %r" % (r.returncode, r.stderr), d.log)
    try:
        r.stdout.decode("ascii")
    except UnicodeDecodeError:
        fail("nbdctl list --json is not ASCII: %r" % r.stdout)
    if raw_controls(r.stdout):
        fail("nbdctl list --json holds raw control bytes: %r" % r.stdout)
    doc = json.loads(r.stdout)
    if list(doc) != ["devices"] or not isinstance(doc["devices"], list):
        fail("nbdctl list --json: not {\"devices\": [...]}: %r" % doc)
    for dev in doc["devices"]:
        if set(dev) != set(DEVICE_KEYS):
            fail("a device's keys: %s" % sorted(dev))
        for k, t in DEVICE_KEYS.items():
            if not isinstance(dev[k], t) or (t is int and isinstance(dev[k], bool)):
                fail("%s is %r" % (k, dev[k]))
    return {dev["spec"]: dev for dev in doc["devices"]}


def on_pty(d, *args, stream="stdout"):
    return pty_run.run([NBDCTL, "--socket", d.sock] + list(args), stream=stream)


def write_devices(d, text):
    with open(d.conf, "w") as f:
        f.write(text)


def reload_checks(d, n, srv):
    uri0 = "nbd://127.0.0.1:%d/%s" % (srv.port, HOSTILE_PATH)
    uri1 = "nbd://127.0.0.1:%d/second" % srv.port
    write_devices(d, "[nbd0]\nuri = %s\n\n[nbd1]\nuri = %s\n" % (uri0, uri1))
    mark = n.count()
    d.proc.send_signal(signal.SIGHUP)
    i, _ = n.wait(lambda m: m.get("RELOADING") == "1", 5, "RELOADING=1 on SIGHUP", mark)
    n.wait(lambda m: m.get("READY") == "1", 5, "READY=1 after SIGHUP", i + 1)
    devs = list_json(d)
    if "nbd1" not in devs or devs["nbd1"]["source"] != "config":
        fail("the new entry was not attached by the reload: %s" % devs, d.log)

    mark = n.count()
    r = d.ctl("reload")
    want = "summary: 2 entries in %s: 0 attaching, 2 already attached, 0 left attached without an entry\n" % d.conf
    if r.returncode != 0 or r.stdout.decode() != want:
        fail("nbdctl reload: rc %d: %r" % (r.returncode, r.stdout + r.stderr), d.log)
    i, _ = n.wait(lambda m: m.get("RELOADING") == "1", 5, "RELOADING=1 (nbdctl)", mark)
    n.wait(lambda m: m.get("READY") == "1", 5, "READY=1 (nbdctl)", i + 1)

    # nbd1 leaves the file, nbd0's URI changes: both stay as they are.
    write_devices(d, "[nbd0]\nuri = nbd://127.0.0.1:%d/changed\n" % srv.port)
    r = d.ctl("reload")
    if r.returncode != 0 or b"0 attaching, 1 already attached, 1 left attached" not in r.stdout:
        fail("reload after the file shrank: %r" % (r.stdout + r.stderr), d.log)
    log = open(d.log, errors="replace").read()
    for want in ("[nbd1]: no longer in %s; nbd1 stays attached until detached" % d.conf,
                 "[nbd0]: the URI in %s is now nbd://127.0.0.1:%d/changed" % (d.conf, srv.port)):
        if want not in log:
            fail("the log does not say %r" % want, d.log)
    devs = list_json(d)
    if devs["nbd0"]["uri"] != uri0 or "nbd1" not in devs:
        fail("a reload changed what is attached: %s" % devs, d.log)

    # A broken file: refused with its line, nothing changed.
    write_devices(d, "[nbd0]\nuri = %s\nreadonly = maybe\n" % uri0)
    r = d.ctl("reload")
    if r.returncode != 1 or not re.search(rb"devices.conf:3: .*readonly", r.stderr):
        fail("reload of a broken file: rc %d: %r" % (r.returncode, r.stderr), d.log)
    if set(list_json(d)) != {"nbd0", "nbd1"}:
        fail("a failed reload changed the devices", d.log)
    d.ctl("detach", "nbd1")


def list_checks(d, srv):
    uri0 = "nbd://127.0.0.1:%d/%s" % (srv.port, HOSTILE_PATH)
    # The refusal reaches the device's last error.
    deadline = time.monotonic() + 15
    while True:
        dev = list_json(d)["nbd0"]
        if dev["error"] and "NBD_REP_ERR_UNKNOWN" in dev["error"]:
            break
        if time.monotonic() > deadline:
            fail("the server's refusal never reached the error: %s" % dev, d.log)
        time.sleep(0.3)
    if dev["export"] != HOSTILE_NAME or dev["uri"] != uri0 or dev["device"] not in (None, "nbd0"):
        fail("the hostile strings came back wrong: %r" % dev)
    if dev["source"] != "config" or dev["readonly"] is not False or dev["connections"] != 1:
        fail("typed fields: %r" % dev)
    print("error as JSON gave it: %r" % dev["error"])

    r = d.ctl("list")
    plain = r.stdout
    if raw_controls(plain):
        fail("nbdctl list (plain) holds raw control bytes: %r" % plain)
    lines = plain.decode(errors="replace").splitlines()
    if not re.match(r"^DEVICE +STATE +BINDING +SIZE +CONNS +RECONNECTS +TLS +URI$", lines[0]):
        fail("plain header: %r" % lines[0])
    row = [l for l in lines if l.split()[:1] in (["nbd0"], ["-"])]
    if len(row) != 1 or row[0].split()[7] != uri0 or not re.match(r"^ {9}last error: ", lines[lines.index(row[0]) + 1]):
        fail("plain rows: %r" % lines)

    _, table, _ = on_pty(d, "list")
    if raw_controls(table):
        fail("the table holds raw control bytes: %r" % table)
    tlines = table.decode(errors="replace").splitlines()
    head = tlines[0]
    cols = [head.index(h) for h in ("STATE", "BINDING", "TLS", "URI")]
    for l in tlines[1:]:
        if l.startswith("  last error: "):
            continue
        for c in cols:
            if l[c - 2:c] != "  " or l[c] == " ":
                fail("the table's columns are not aligned: %r" % tlines)
    if not any(uri0 in l for l in tlines):
        fail("the table lacks the URI: %r" % tlines)


STATUS_LINE = re.compile(rb"\r[|/\\-] ([^\r\x1b]*)\x1b\[K")


def progress_checks(d, srv):
    """A wait or an attach that lasts shows a status line on a terminal,
    rewritten in place and gone at the end; on a pipe, nothing of it."""
    t0 = time.monotonic()
    rc, err, _ = on_pty(d, "wait", "nbd0", "--timeout", "2", stream="stderr")
    took = time.monotonic() - t0
    frames = STATUS_LINE.findall(err)
    if rc != 1 or not 1.5 < took < 6 or not frames:
        fail("wait on a terminal: rc %d after %.1f s: %r" % (rc, took, err), d.log)
    if not re.match(rb"waiting for nbd0: nbd0 (waiting|connecting): last error: ", frames[-1]):
        fail("wait's status line: %r" % frames[-1], d.log)
    tail = err[err.rindex(b"\x1b[K") + 3:]
    if not err.endswith(b"\n") or not re.fullmatch(rb"\r?nbdctl wait: nbd0 not connected after 2 s: nbd0 (waiting|connecting): last error: [^\r\x1b]*\n", tail):
        fail("wait: the line is not cleared before the error: %r" % err[-300:], d.log)
    r = d.ctl("wait", "nbd0", "--timeout", "1")
    if r.returncode != 1 or b"\r" in r.stderr or b"\x1b" in r.stderr:
        fail("wait on a pipe: rc %d: %r" % (r.returncode, r.stderr), d.log)
    r = d.ctl("wait", "nbd7", "--timeout", "1")
    if r.returncode != 1 or r.stderr != b"nbdctl wait: nbd7 not connected after 1 s: not attached by nbd-clientd (yet)\n":
        fail("wait for a device the daemon lacks: rc %d: %r" % (r.returncode, r.stderr))
    r = subprocess.run([NBDCTL, "--socket", d.sock + ".none", "wait", "nbd0", "--timeout", "1"],
                       capture_output=True, timeout=10)
    if r.returncode != 1 or not r.stderr.startswith(b"nbdctl wait: nbd0 not connected after 1 s: cannot reach nbd-clientd"):
        fail("wait without a daemon: rc %d: %r" % (r.returncode, r.stderr))
    if d.ctl("wait", "sda").returncode != 2:
        fail("wait sda: not a usage error")

    # An attach held up by a server that drips its negotiation.
    if d.ctl("detach", "nbd0").returncode != 0:
        fail("detach nbd0", d.log)
    srv.mode, srv.drip = "drip", 0.5
    uri = "nbd://127.0.0.1:%d/slow" % srv.port
    rc, err, out = on_pty(d, "attach", uri, "--device", "nbd0", "--binding", "ioctl",
                          "--negotiate-timeout", "3", stream="stderr")
    frames = STATUS_LINE.findall(err)
    if rc != 1 or not frames or not frames[-1].startswith(b"attaching " + uri.encode() + b": nbd0 connecting"):
        fail("attach on a terminal: rc %d: %r" % (rc, err), d.log)
    if not re.search(rb"\x1b\[K\r\x1b\[Knbdctl attach: the server did not finish negotiating within 3 s", err):
        fail("attach: the line is not cleared before the error: %r" % err[-300:], d.log)
    srv.mode = "refuse"


def main():
    if os.geteuid() != 0:
        nbdtest.fail("needs root (nbd-clientd runs as root; unshare -m)")
    nbdtest.need("unshare")
    tmp = tempfile.mkdtemp(prefix="cnbd-clientd-systemd.")
    srv = hostile_nbd.HostileServer()
    srv.mode, srv.error_text = "refuse", EVIL
    d = None
    at_ready = []

    def on_message(msg):
        if msg.get("READY") == "1" and not at_ready:
            at_ready.append(subprocess.run([NBDCTL, "--socket", sock, "list", "--json"],
                                           capture_output=True, timeout=10).stdout)

    sock = os.path.join(tmp, "run", "clientd.sock")
    n = sdnotify.Listener(os.path.join(tmp, "notify"), on_message)
    log = os.path.join(tmp, "clientd.log")
    open(log, "w").close()
    st = os.stat(log)
    env = dict(os.environ, NOTIFY_SOCKET=n.path, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    try:
        d = fake_clientd.Daemon(tmp, "[nbd0]\nuri = nbd://127.0.0.1:%d/%s\n" % (srv.port, HOSTILE_PATH),
                                ["--systemd-mark"], env)
        n.wait(lambda m: m.get("READY") == "1", 10, "READY=1")
        if not at_ready or b'"spec": "nbd0"' not in at_ready[0]:
            fail("at READY=1 the devices file's entry is not listed: %r" % at_ready, d.log)
        n.wait(lambda m: re.fullmatch(r"1 device: nbd0 (waiting|connecting|reconnecting)",
                                      m.get("STATUS", "")), 5, "STATUS=1 device: nbd0 ...")
        cmdline = open("/proc/%d/cmdline" % d.proc.pid, "rb").read()
        if not cmdline.startswith(b"@"):
            fail("--systemd-mark: argv[0] is %r" % cmdline.split(b"\0")[0])
        lines = open(d.log, errors="replace").read().splitlines()
        if not lines or [l for l in lines if not re.match(r"<[0-7]>", l)]:
            fail("journal lines without a priority: %s" % lines[:10])

        list_checks(d, srv)
        reload_checks(d, n, srv)
        progress_checks(d, srv)

        mark = n.count()
        d.stop()
        n.wait(lambda m: m.get("STOPPING") == "1", 5, "STOPPING=1", mark)
        if n.errors:
            fail("checks at a message failed: %s" % n.errors)
        print("messages:", n.since())
    except AssertionError as e:
        fail(str(e), log)
    finally:
        if d and d.proc.poll() is None:
            d.proc.kill()
        srv.close()
        n.close()
        subprocess.run(["rm", "-rf", tmp])
    print("ok")


main()
