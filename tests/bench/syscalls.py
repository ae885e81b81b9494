# SPDX-License-Identifier: MIT
"""Where the time goes, counted: system calls per request for each
server, from `strace -c -f` attached to it while fio makes a fixed number
of 4 KiB requests at QD32. strace slows the server down a lot, so these
runs give counts, never times; the CPU figures come from the untraced
runs. -f follows every thread and every forked or re-executed worker.
"""

import os
import signal
import subprocess
import time

import fio

REQUESTS = 20000
WORKLOADS = [w for w in fio.WORKLOADS if w[0] in ("rr4k", "rw4k")]


def _parse(path):
    """strace -c's table: {syscall: calls}."""
    calls = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(fields) < 5 or not fields[3].isdigit() or fields[-1] == "total":
                continue
            calls[fields[-1]] = int(fields[3])
    return calls


def count(s, args, outdir, tag):
    """{syscall: calls per request} for one fio run against server s."""
    trace = os.path.join(outdir, tag + ".strace")
    pid = s.group.pid
    st = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", trace, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)     # strace attaches to every thread before fio connects
    out = os.path.join(outdir, tag + ".json")
    cmd = ["fio", "--name=bench", "--ioengine=nbd", "--uri=" + s.uri(),
           "--number_ios=%d" % REQUESTS, "--size=1g", "--norandommap",
           "--randrepeat=0", "--output-format=json", "--output=" + out] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    time.sleep(0.5)     # the worker's exit is part of the connection
    st.send_signal(signal.SIGINT)
    st.wait(30)
    if p.returncode != 0:
        raise RuntimeError("fio failed: %s" % p.stdout.decode()[-500:])
    calls = _parse(trace)
    if not calls:
        raise RuntimeError("strace counted nothing (%s)" % trace)
    return {name: n / REQUESTS for name, n in calls.items()}


def run(servers, outdir, log):
    """{"cells": [{server, workload, per_request: {syscall: n}}], "errors": []}"""
    res = {"requests": REQUESTS, "cells": [], "errors": []}
    for key, label, _, args in WORKLOADS:
        for s in servers:
            tag = "strace-%s-%s" % (s.name.replace(" ", "_"), key)
            try:
                per = count(s, args, outdir, tag)
            except Exception as e:  # one broken row, not a broken report
                res["errors"].append({"server": s.name, "workload": key,
                                      "error": str(e).splitlines()[0][:80]})
                log("%s %s: strace count failed: %s" % (s.name, label, e))
                continue
            res["cells"].append({"server": s.name, "workload": key, "per_request": per})
            log("%-16s %-20s %.2f system calls per request" % (
                s.name, label, sum(per.values())))
    return res
