# SPDX-License-Identifier: MIT
"""Driving backends/hostile.c, the test double of a compromised worker:
find the master's workers, run an attack in a new worker, read its
outcome. Shared by server_hostile_worker.py and server_stats_hostile.py;
not a test itself."""

import os
import time

import nbd
from nbdtest import check

RESULT_OFFSET = 4096


def workers(srv):
    """The master's children (its workers), by /proc."""
    pids = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after ')'
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == srv.proc.pid:
            pids.add(int(d))
    return pids


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] not in "ZX"
    except OSError:
        return False


def run_attack(srv, cmd):
    """Connects to the hostile export, sends the command; returns (the
    handle, the worker's pid, outcome text or None when the worker
    died)."""
    before = workers(srv)
    h = srv.connect("evil")
    new = workers(srv) - before
    check(len(new) == 1, "one new worker for the attacker (saw %s)" % sorted(new))
    pid = new.pop()
    text = None
    try:
        h.pwrite(("HOSTILE:%s\n" % cmd).encode().ljust(512, b"\0"), 0)
        text = h.pread(256, RESULT_OFFSET).split(b"\0")[0].decode(errors="replace")
    except nbd.Error as e:
        print("  the attacker's connection ended: %s" % e.string)
    return h, pid, text


def close(h):
    try:
        h.shutdown()
    except nbd.Error:
        pass


def served_quickly(srv, export="plain"):
    """Seconds for a new client to be served a read of export."""
    start = time.monotonic()
    h = srv.connect(export)
    h.pread(512, 0)
    took = time.monotonic() - start
    h.shutdown()
    return took
