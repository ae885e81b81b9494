#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Log lines the way journald wants them (sd-daemon(3)): when stderr is
the stream JOURNAL_STREAM names (its st_dev:st_ino, as systemd sets it),
every line starts with its syslog priority, "<6>listening on ...", with
no program name, pid or level word (the journal records those); the
workers, re-executed with the master's stderr but not its environment,
do the same. Otherwise the plain lines: a JOURNAL_STREAM that names
another file (stderr was redirected since) changes nothing, and
--journal asks for the prefixes whatever stderr is.
"""

import os
import re
import signal
import subprocess
import tempfile
import time

import nbdtest
from nbdtest import check

PLAIN = re.compile(r"nbd-serverd\[\d+\]: (info|warning|error|debug): ")
PREFIXED = re.compile(r"<[0-7]>")


def run_server(tmp, conf, name, args=(), journal=None):
    """Starts the server with stderr on tmp/name; journal: the file whose
    dev:ino JOURNAL_STREAM names (None: unset). Serves one client, stops
    it, and returns the log's lines."""
    path = os.path.join(tmp, name)
    err = open(path, "wb")
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal:
        st = os.stat(journal if journal != "self" else path)
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    port = nbdtest.free_port()
    with open(conf, "w") as f:
        f.write(nbdtest.config_text({"disk": {"backend": "memory", "size": "1M"}},
                                    ["127.0.0.1:%d" % port]))
    proc = subprocess.Popen([nbdtest.SERVERD, "-f", "-c", conf] + list(args), env=env,
                            stdout=err, stderr=err)
    err.close()
    deadline = time.monotonic() + 10
    while not nbdtest._probe(("127.0.0.1", port)):
        check(time.monotonic() < deadline and proc.poll() is None, "no start: %s" %
              open(path, errors="replace").read())
        time.sleep(0.05)
    nbdtest.run(["nbdinfo", "--size", "nbd://127.0.0.1:%d/disk" % port])
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    check(proc.wait(10) == 0, "exit %s" % proc.returncode)
    return open(path, errors="replace").read().splitlines()


def main():
    nbdtest.need("nbdinfo")
    tmp = tempfile.mkdtemp(prefix="cnbd-journal.")
    os.chmod(tmp, 0o755)
    conf = os.path.join(tmp, "cnbd.conf")
    try:
        # stderr is the journal's stream: every line prefixed.
        lines = run_server(tmp, conf, "journal.log", ["-v"], journal="self")
        bad = [l for l in lines if not PREFIXED.match(l)]
        check(not bad, "lines without a priority prefix: %s" % bad)
        check(not [l for l in lines if PLAIN.search(l)], "the plain form in journal lines: %s" % lines)
        check(any(re.match(r"<6>listening on 127\.0\.0\.1:\d+$", l) for l in lines),
              "no '<6>listening on ...' line: %s" % lines)
        check(any(re.match(r"<6>worker \d+ 127\.0\.0\.1:\d+: serving export 'disk'", l)
                  for l in lines), "no worker line at <6>: %s" % lines)
        check(any(l.startswith("<7>") for l in lines), "-v: no debug line at <7>: %s" % lines)
        if os.geteuid() != 0:
            check(any(re.match(r"<4>not running as root", l) for l in lines),
                  "no warning at <4>: %s" % lines)

        # JOURNAL_STREAM names another file: the plain lines.
        other = os.path.join(tmp, "other")
        open(other, "w").close()
        lines = run_server(tmp, conf, "redirected.log", journal=other)
        check(lines and all(PLAIN.match(l) for l in lines),
              "with stderr redirected from the journal: %s" % lines)
        check(any(re.match(r"nbd-serverd\[\d+\]: info: worker \d+ ", l) for l in lines),
              "no plain worker line: %s" % lines)

        # Asked for: prefixes on a plain file.
        lines = run_server(tmp, conf, "asked.log", ["--journal"])
        check(lines and all(PREFIXED.match(l) for l in lines), "--journal: %s" % lines)
        check(any(re.match(r"<6>worker \d+ ", l) for l in lines), "--journal: no worker line")

        # An error that stops the start: <3>.
        with open(conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:1\n[x]\nbackend = memory\nreadonly = maybe\n")
        path = os.path.join(tmp, "error.log")
        with open(path, "wb") as err:
            st = os.fstat(err.fileno())
            env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            rc = subprocess.run([nbdtest.SERVERD, "-f", "-c", conf], env=env, stdout=err,
                                stderr=err, timeout=20).returncode
        text = open(path, errors="replace").read()
        check(rc == 1 and re.search(r"^<3>.*readonly: 'maybe' is not a boolean", text, re.M),
              "a refused configuration: exit %d: %s" % (rc, text))
    except nbdtest.TestFailure as e:
        nbdtest.fail(str(e))
    finally:
        subprocess.run(["rm", "-rf", tmp])
    print("ok")


main()
