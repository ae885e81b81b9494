#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A compromised worker lies in the one statistics page it can reach
(backends/hostile.c takes the worker's page descriptor, as code in the
worker could): 10^15 more reads, consistently, its counters set back to
zero, every word all ones, its sequence count left odd. Each time:

- another export's counts stay exactly what its clients did (one client
  connected throughout, one that ended before);
- the attacker's own export never shows more than its clients really
  sent (the lie is not believed; a stuck page just stops counting);
- the master logs once that it stopped believing that worker (for the
  three lies it can see), serves on, and a new client is served.

The page's seals are checked too: the worker cannot shrink it (which
would make the master fault reading it) or grow it."""

import fcntl
import json
import os
import sys
import time

import hostile_worker as hw
import nbdtest
from nbdtest import check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_helpers as sh  # noqa: E402

F_GET_SEALS = 1034
SEALS = 0x0001 | 0x0002 | 0x0004      # F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW


def export_stats(srv, name):
    doc = json.loads(sh.nbdctl(srv, "stats", "--json")[1])
    return [e for e in doc["exports"] if e["name"] == name][0]


def totals(row):
    return {c: (k["requests"], k["bytes"], k["errors"]) for c, k in row["commands"].items()}


def victim_work(srv):
    """Known requests on victim: one client that ends, one that stays."""
    h = srv.connect("victim")
    for i in range(10):
        h.pwrite(b"v" * 4096, i * 4096)
    for i in range(5):
        h.pread(4096, 0)
    h.shutdown()
    stay = srv.connect("victim")
    for i in range(3):
        stay.pwrite(b"s" * 512, 0)
    stay.flush()
    return stay


def page_seals(pid):
    """The seals of the worker's statistics page, through its mapping."""
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) > 5 and parts[5].strip().startswith("/memfd:cnbd-stats"):
                fd = os.open("/proc/%d/map_files/%s" % (pid, parts[0]), os.O_RDONLY)
                try:
                    return fcntl.fcntl(fd, F_GET_SEALS)
                finally:
                    os.close(fd)
    return None


def attack(srv, lie, want, sent):
    """One lie by a fresh worker that served 4 writes first (folded by
    the master, so that a counter set back is seen going down)."""
    before = hw.workers(srv)
    h = srv.connect("evil")
    pid = (hw.workers(srv) - before).pop()
    seals = page_seals(pid)
    check(seals is not None and seals & SEALS == SEALS,
          "worker %d's page seals %s, want SEAL|SHRINK|GROW" % (pid, seals))
    for i in range(4):
        h.pwrite(b"e" * 4096, 8192 + i * 4096)
    export_stats(srv, "evil")
    h.pwrite(("HOSTILE:stats:%s\n" % lie).encode().ljust(512, b"\0"), 0)
    text = h.pread(256, hw.RESULT_OFFSET).split(b"\0")[0].decode(errors="replace")
    h.pwrite(b"e" * 4096, 8192)
    sent += 7
    print("stats:%s: %r" % (lie, text))
    check(text == "stats:%s: 0 written" % lie, "the attack did not run: %r" % text)
    got = totals(export_stats(srv, "victim"))
    check(got == want, "after stats:%s the victim's counts are %s, want %s" % (lie, got, want))
    evil = export_stats(srv, "evil")
    n = sum(k["requests"] for k in evil["commands"].values())
    check(n <= sent, "after stats:%s evil shows %d requests; its clients sent %d" %
          (lie, n, sent))
    check(all(k["bytes"] <= sent * 4096 for k in evil["commands"].values()),
          "after stats:%s evil shows %s" % (lie, totals(evil)))
    if lie != "stuck":
        said = srv.log_text().count("worker %d: its statistics cannot be believed" % pid)
        check(said == 1, "the master said %d times that it distrusts worker %d" % (said, pid))
    hw.close(h)
    srv.check_alive()
    check(hw.served_quickly(srv, "probe") < 1.0, "a new client waited")
    return sent


def main():
    exports = {"evil": {"backend": "hostile", "size": "1M"},
               "victim": {"backend": "memory", "size": "1M"},
               "probe": {"backend": "memory", "size": "1M"}}
    with sh.server(exports, verbose=True) as srv:
        stay = victim_work(srv)
        time.sleep(0.2)
        want = totals(export_stats(srv, "victim"))
        check(want["write"] == (13, 10 * 4096 + 3 * 512, 0) and want["read"] == (5, 5 * 4096, 0)
              and want["flush"] == (1, 0, 0), "victim's own counts: %s" % want)
        sent = 0        # requests the attackers' clients really sent
        for lie in ("inflate", "down", "garbage", "stuck"):
            sent = attack(srv, lie, want, sent)
        stay.pwrite(b"s" * 512, 0)
        want["write"] = (14, want["write"][1] + 512, 0)
        stay.shutdown()
        time.sleep(0.2)
        got = totals(export_stats(srv, "victim"))
        check(got == want, "at the end the victim's counts are %s, want %s" % (got, want))


nbdtest.main(main)
