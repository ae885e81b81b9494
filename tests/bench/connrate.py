# SPDX-License-Identifier: MIT
"""Connection cost: whole NBD connections per second, and the server's
CPU per connection, with tests/bench/connrate.c as the client.

One connection = TCP connect, fixed-newstyle handshake, NBD_OPT_GO on
"bench", one 4 KiB READ, NBD_CMD_DISC, wait for the server's close. What
it costs a server is everything a client that comes and goes pays for:
accept, fork or thread, export open, handshake, teardown. The per-request
workloads (fio.py) open one connection per run and never see it.

Each server exports 64 MiB (a memory export, or a file on /dev/shm); the
size hardly matters, a connection touches 4 KiB of it. Servers are
started for this part alone, after the fio servers are stopped, so no
idle server of the other part shares the cores.

A cell = one server, one number of client loops (threads of connrate,
each a connection after another): connrate runs for a fixed time, then
the harness waits for the server's workers to exit (their exit is part of
the connection) and reads the server's cgroup CPU counter. Trials are
interleaved like the fio ones; the report gives median and spread,
because on a shared machine the spread is the finding as much as the
median.
"""

import json
import os
import subprocess
import time

import data
import servers

MIB = 1 << 20
SIZE = 64 * MIB

# key, label, client loops
WORKLOADS = [
    ("conn1", "1 loop", 1),
    ("conn4", "4 loops", 4),
]


def _start_all(build, groups, work, keep, log):
    path = os.path.join(work, "connrate.img")
    data.write_data(path, SIZE)
    makers = [
        ("cnbd memory", lambda: servers.cnbd(build, "memory", groups, work, SIZE)),
        ("cnbd file", lambda: servers.cnbd(build, "file", groups, work, SIZE, path=path)),
        ("nbdkit memory", lambda: servers.nbdkit("memory", groups, work, SIZE)),
        ("nbd-server file", lambda: servers.nbd_server(groups, work, SIZE, path)),
        ("qemu-nbd file", lambda: servers.qemu_nbd(groups, work, SIZE, path)),
    ]
    running = []
    try:
        for name, make in makers:
            if keep and not any(k in name for k in keep):
                continue
            log("starting %s (64 MiB, connection rate)" % name)
            running.append(make())
    except Exception:
        for s in running:
            s.stop()
        raise
    return running


def _client(binary, port, loops, seconds):
    """Run connrate; its result and its own CPU time (from wait4, so no
    other child's time is mixed in)."""
    argv = [binary, "-t", str(seconds), "-j", str(loops), "127.0.0.1", str(port), "bench"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.stdout.read(), p.stderr.read()
    finally:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError("connrate failed (%s): %s" % (" ".join(argv),
                                                          err.decode().strip()[-500:]))
    r = json.loads(out)
    if r["connections"] == 0:
        raise RuntimeError("connrate made no connections: %s" % err.decode())
    r["client_ns"] = int((ru.ru_utime + ru.ru_stime) * 1e9)
    return r


def measure(s, binary, loops, seconds):
    nprocs = len(s.group.pids())
    before = s.cpu_ns()
    r = _client(binary, s.port, loops, seconds)
    # Forking servers: the last workers may still be exiting; their exit
    # is part of a connection's cost.
    deadline = time.monotonic() + 5
    while len(s.group.pids()) > nprocs and time.monotonic() < deadline:
        time.sleep(0.02)
    conns = r["connections"]
    return {"connections": conns, "seconds": r["seconds"],
            "rate": conns / r["seconds"],
            "cpu_us": (s.cpu_ns() - before) / 1000.0 / conns,
            "client_us": r["client_ns"] / 1000.0 / conns}


def run(build, binary, groups, work, keep, seconds, trials, log):
    """Every cell, every trial; JSON-able, for report.connrate_table."""
    res = {"seconds": seconds, "trials": trials, "rows": [], "cells": [], "errors": []}
    running = _start_all(build, groups, work, keep, log)
    try:
        res["rows"] = [s.name for s in running]
        for key, label, loops in WORKLOADS:
            for t in range(trials):
                for s in running:
                    try:
                        r = measure(s, binary, loops, seconds)
                    except Exception as e:  # one broken server is one cell
                        res["errors"].append({"server": s.name, "workload": key,
                                              "error": str(e).splitlines()[0][:120]})
                        log("%s connections, %s, trial %d FAILED: %s"
                            % (s.name, label, t + 1, e))
                        continue
                    res["cells"].append(dict(r, server=s.name, workload=key, trial=t + 1))
                    log("%-16s connections, %-7s trial %d: %.0f/s, %.0f µs server CPU"
                        " and %.0f µs client CPU per connection"
                        % (s.name, label, t + 1, r["rate"], r["cpu_us"], r["client_us"]))
    finally:
        for s in running:
            s.stop()
    return res
