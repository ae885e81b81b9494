#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""nbdctl server list in its three forms (root: the control socket
answers root only). --json parses (python json) to the documented
schema, ASCII only, whatever the names and descriptions hold: quotes,
backslashes, control bytes, UTF-8 and bytes that are not UTF-8 (U+FFFD),
from the configuration file and from nbdctl server add. The plain form
keeps the columns server_helpers.py reads; on a terminal (a pty) the
columns are as wide as their widest cell. A server that is not there:
exit 1, and nothing on stdout (never half a JSON document).
"""

import json
import os
import re
import subprocess
import tempfile

import nbdtest
import pty_run
from nbdtest import check

NBDCTL = os.path.join(nbdtest.BUILD, "nbdctl")
# Written into the file as bytes: a description is the rest of its line.
FILE_DESC = b'say "hi" \\ tab\there \x1b[31mred\x7f caf\xc3\xa9 \xff\xfe end'
FILE_DESC_JSON = 'say "hi" \\ tab\there \x1b[31mred\x7f caf\u00e9 \ufffd\ufffd end'
# Names hold no control characters (the server refuses them); the rest
# of what JSON must escape, they may.
ADDED = "q\"uo\\te = 50% \u00e9 {}"
ADDED_DESC = "desc \x01\x1b]0;title\x07 \"\\ \u00e9\U0001F600"
LONG = "a much longer export name than twenty"


def ctl(srv, *args):
    return subprocess.run([NBDCTL, "server", "--socket", srv.control] + list(args),
                          capture_output=True, timeout=30)


def checks(srv):
    r = ctl(srv, "add", ADDED, "backend=memory", "size=1M", "description=" + ADDED_DESC)
    check(r.returncode == 0, "nbdctl server add of a hostile name: %r" % r.stderr)

    r = ctl(srv, "list", "--json")
    check(r.returncode == 0, "list --json: %r" % r.stderr)
    check(not re.search(rb"[^\x0a\x20-\x7e]", r.stdout),
          "--json is not printable ASCII: %r" % r.stdout)
    doc = json.loads(r.stdout)
    check(list(doc) == ["exports"], "not {\"exports\": [...]}: %r" % doc)
    by_name = {e["name"]: e for e in doc["exports"]}
    for e in doc["exports"]:
        check(sorted(e) == sorted(["name", "backend", "connections", "max-connections",
                                   "source", "description"]), "keys: %s" % sorted(e))
        check(type(e["connections"]) is int and type(e["max-connections"]) is int,
              "numbers: %r" % e)
    check(set(by_name) == {"disk", LONG, "described", ADDED}, "names: %r" % list(by_name))
    check(by_name["disk"]["max-connections"] == 2 and by_name["disk"]["description"] is None,
          "disk: %r" % by_name["disk"])
    check(by_name["described"]["description"] == FILE_DESC_JSON,
          "the file's description: %r" % by_name["described"]["description"])
    check(by_name[ADDED]["description"] == ADDED_DESC and by_name[ADDED]["source"] == "runtime",
          "the added export: %r" % by_name[ADDED])
    check(re.fullmatch(r".*cnbd\.conf:\d+", by_name["disk"]["source"]),
          "source: %r" % by_name["disk"]["source"])

    plain = ctl(srv, "list").stdout
    check(not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", plain), "plain: raw controls %r" % plain)
    lines = plain.decode(errors="replace").splitlines()
    check(lines[0] == "NAME                 BACKEND  CONNS   MAX  DESCRIPTION",
          "plain header: %r" % lines[0])
    check("disk                 memory       0     2  " in lines, "plain disk row: %r" % lines)

    _, table, _ = pty_run.run([NBDCTL, "server", "--socket", srv.control, "list"])
    check(not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", table), "table: raw controls %r" % table)
    tlines = table.decode(errors="replace").splitlines()
    at = tlines[0].index("BACKEND")
    check(at == len(LONG) + 2, "the NAME column is not as wide as its widest name: %r" % tlines)
    for l in tlines[1:]:
        check(l[at - 2:at] == "  " and l[at] != " ", "unaligned row %r in %r" % (l, tlines))


def main():
    check(os.geteuid() == 0, "needs root (the control socket answers root only)")
    tmp = tempfile.mkdtemp(prefix="cnbd-list-json.")
    os.chmod(tmp, 0o755)
    dropins = os.path.join(tmp, "exports.d")
    os.mkdir(dropins)
    # A drop-in of raw bytes: a description is the rest of its line.
    with open(os.path.join(dropins, "described.conf"), "wb") as f:
        f.write(b"[described]\nbackend = null\nsize = 1M\ndescription = " + FILE_DESC + b"\n")
    exports = {"disk": {"backend": "memory", "size": "1M", "max-connections": 2},
               LONG: {"backend": "null", "size": "1M"}}
    server = {"control": os.path.join(tmp, "control.sock"), "exports-dir": dropins}
    try:
        with nbdtest.Server(exports, server=server) as srv:
            srv.control = server["control"]
            checks(srv)
        r = ctl(srv, "list", "--json")
        check(r.returncode == 1 and r.stdout == b"" and b"nbdctl server list: " in r.stderr,
              "no server: rc %d, stdout %r, stderr %r" % (r.returncode, r.stdout, r.stderr))
    finally:
        subprocess.run(["rm", "-rf", tmp])
    print("ok")


main()
