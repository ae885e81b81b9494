#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench: cnbd's nbd-serverd beside nbdkit, nbd-server and qemu-nbd,
in one run, over TCP loopback, with fio's nbd engine. Prints one markdown
report and saves it (and every trial, as JSON) under --out.

bench.py --render build/bench/results.json reprints the report of an
earlier run without measuring anything.

Knobs (environment), for quick runs while developing:
  BENCH_ONLY       comma-separated parts to run: fio,tls,iperf,sparse,connrate,
                   syscalls
                   (default all; --only does the same)
  BENCH_RUNTIME    seconds per fio run (default 6)
  BENCH_TRIALS     runs per cell, best kept (default 3)
  BENCH_SERVERS    comma-separated substrings of row names to keep
  BENCH_WORKLOADS  comma-separated workload keys (rr4k,rw4k,sr1m,sw1m,rr4k4c)
  BENCH_SPARSE     0 skips the sparse copy
  BENCH_CONNRATE_SECONDS  seconds per connection-rate run (default 5)

How a cell is measured: read the server's cgroup CPU counter, run fio,
wait for the connection's worker to exit (its last CPU belongs to this
run), read the counter again. CPU per request = the difference / the
requests fio completed. The connection rate (connrate.py) does the same
around tests/bench/connrate.c and divides by the connections. The trials
are interleaved (workload, then trial, then server), so a burst of someone
else's build lands on one trial of several servers instead of every trial
of one server.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import connrate  # noqa: E402
import cpuacct  # noqa: E402
import data  # noqa: E402
import fio  # noqa: E402
import iperf  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402
import sparse  # noqa: E402
import syscalls  # noqa: E402
import tls  # noqa: E402

GIB = 1 << 30
PARTS = ["fio", "tls", "iperf", "sparse", "connrate", "syscalls"]
# The rows whose system calls are counted (strace is slow: these are enough
# to compare the engine with its peer and with both floors).
SYSCALL_ROWS = ["floor", "floor io_uring", "cnbd memory", "nbdkit memory"]
# What each part runs; the peers are needed whatever BENCH_SERVERS keeps,
# so that a machine without one never prints a table that lacks it.
PEERS = ["nbdkit", "nbd-server", "qemu-nbd", "nbdinfo"]
TOOLS = {"fio": ["fio", "nbdcopy"] + PEERS, "iperf": ["iperf3"],
         "tls": ["fio", "nbdcopy", "nbdinfo", "nbdkit", "certtool", "psktool", "setpriv"],
         "sparse": ["nbdkit", "nbdcopy", "nbdinfo"], "connrate": PEERS,
         "syscalls": ["fio", "strace", "nbdkit", "nbdinfo", "nbdcopy"]}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def machine(runtime, trials, cpu_method, parts):
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    fio_version = None
    if "fio" in parts:
        fio_version = subprocess.check_output(["fio", "--version"], text=True).strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "kernel": platform.release(), "cpu": cpu, "nproc": os.cpu_count(),
            "fio": fio_version, "runtime": runtime, "trials": trials,
            "cpu_method": cpu_method, "parts": parts}


def start_all(build, groups, work, size, datafile, keep):
    makers = [
        ("cnbd memory", lambda: servers.cnbd(build, "memory", groups, work, size)),
        ("cnbd memory no-stats",
         lambda: servers.cnbd(build, "memory", groups, work, size, statistics=False)),
        ("cnbd file", lambda: servers.cnbd(build, "file", groups, work, size, path=datafile)),
        ("cnbd null", lambda: servers.cnbd(build, "null", groups, work, size)),
        ("cnbd cow+file", lambda: servers.cnbd_cow(build, groups, work, size, datafile)),
        ("nbdkit memory", lambda: servers.nbdkit("memory", groups, work, size)),
        ("nbdkit file", lambda: servers.nbdkit("file", groups, work, size, path=datafile)),
        ("nbdkit null", lambda: servers.nbdkit("null", groups, work, size)),
        ("nbdkit cow+file", lambda: servers.nbdkit("file", groups, work, size, path=datafile,
                                                   name="nbdkit cow+file", filters=["cow"])),
        ("nbd-server file", lambda: servers.nbd_server(groups, work, size, datafile)),
        ("qemu-nbd file", lambda: servers.qemu_nbd(groups, work, size, datafile)),
        ("floor", lambda: servers.floor(build, groups, work, size)),
        ("floor io_uring", lambda: servers.floor(build, groups, work, size, uring=True)),
    ]
    running = []
    for name, make in makers:
        if keep and not any(k in name for k in keep):
            continue
        log("starting " + name)
        s = make()
        if s.storage == "memory":
            log("prefilling %s from %s" % (name, datafile))
            data.prefill(s.uri(), datafile)
        running.append(s)
    return running


def measure(s, args, runtime, outdir, tag):
    nprocs = len(s.group.pids())
    before, split_before = s.cpu_ns(), s.group.split_ns()
    r = fio.run(s.fio_uri(), args, runtime, outdir, tag, home=s.fio_home())
    # A forking server's worker exits after fio disconnects; wait for it so
    # its exit work is charged here and not to the next run.
    deadline = time.monotonic() + 3
    while len(s.group.pids()) > nprocs and time.monotonic() < deadline:
        time.sleep(0.02)
    r["cpu_us"] = (s.cpu_ns() - before) / 1000.0 / r["requests"]
    split_after = s.group.split_ns()
    if split_before and split_after:
        r["user_us"], r["sys_us"] = ((a - b) / 1000.0 / r["requests"]
                                     for a, b in zip(split_after, split_before))
    return r


def measure_all(running, workloads, trials, runtime, fio_out, res):
    """Every cell, trials interleaved (workload, then trial, then server);
    into res["trials"] and res["errors"]."""
    for key, label, unit, args in workloads:
        for t in range(trials):
            for s in running:
                name = "%s-%s-%d" % (s.name.replace(" ", "_"), key, t)
                try:
                    r = measure(s, args, runtime, fio_out, name)
                except Exception as e:  # keep going: one broken server is one row
                    res["errors"].append({"server": s.name, "workload": key,
                                          "error": str(e).splitlines()[0][:80]})
                    log("%s %s trial %d FAILED: %s" % (s.name, label, t + 1, e))
                    continue
                res["trials"].append(dict(r, server=s.name, workload=key, trial=t + 1))
                v = r["iops"] if unit == "IOPS" else r["mbps"]
                log("%-16s %-20s trial %d: %s, %.1f us/req" % (
                    s.name, label, t + 1, report.rate(v, unit), r["cpu_us"]))


def run_tls(build, groups, work, chosen, keep, trials, runtime, fio_out):
    """The TLS part (tls.py): its own servers, plaintext references
    included, so that it stands alone (BENCH_ONLY=tls). Memory exports of
    tls.SIZE: five at once must fit in RAM."""
    res = {"rows": [], "trials": [], "errors": [], "carried": {}, "size": tls.SIZE}
    datafile = os.path.join(work, "tls.img")
    data.write_data(datafile, tls.SIZE)
    keys = tls.Keys(work)
    running, res["no_kernel_tls"] = tls.start_all(build, groups, work, tls.SIZE, datafile,
                                                  keys, keep, log)
    try:
        res["rows"] = [{"name": s.name, "family": s.family, "storage": s.storage,
                        "tls": bool(s.tls)} for s in running]
        workloads = [w for w in chosen if w[0] in tls.WORKLOADS]
        measure_all(running, workloads, trials, runtime, fio_out, res)
        res["carried"] = tls.carried(running)
    finally:
        for s in running:
            s.stop()
    return res


def run(build, out, parts):
    """Measure; return everything the report needs, as JSON-able data."""
    runtime = int(os.environ.get("BENCH_RUNTIME", "6"))
    trials = int(os.environ.get("BENCH_TRIALS", "3"))
    keep = [k for k in os.environ.get("BENCH_SERVERS", "").split(",") if k]
    wanted = [k for k in os.environ.get("BENCH_WORKLOADS", "").split(",") if k]
    chosen = [w for w in fio.WORKLOADS if not wanted or w[0] in wanted]
    workloads = chosen if "fio" in parts else []
    conn_secs = float(os.environ.get("BENCH_CONNRATE_SECONDS", "5"))
    conn_bin = os.path.join(build, "tests", "bench", "connrate")

    need = sorted({t for p in parts for t in TOOLS[p]})
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        sys.exit("bench: missing tools: %s (every peer is a Debian package)" % " ".join(missing))
    if not os.access(os.path.join(build, "nbd-serverd"), os.X_OK):
        sys.exit("bench: %s/nbd-serverd is not built" % build)
    for prog in ("floor_server", "floor_uring"):
        floor_bin = os.path.join(build, "tests", "bench", prog)
        if ("fio" in parts or "syscalls" in parts) and not os.access(floor_bin, os.X_OK):
            sys.exit("bench: %s is not built (make bench builds it)" % floor_bin)
    if "connrate" in parts and not os.access(conn_bin, os.X_OK):
        sys.exit("bench: %s is not built (make bench builds it)" % conn_bin)

    fio_out = os.path.join(out, "fio")
    os.makedirs(fio_out, exist_ok=True)
    tag = "cnbd-bench-%d" % os.getpid()
    work = os.path.join("/dev/shm", tag)
    os.makedirs(work)
    groups = cpuacct.Groups(tag)
    log("server CPU accounting: " + groups.describe())
    res = {"meta": machine(runtime, trials, groups.describe(), parts),
           "workloads": [w[0] for w in workloads], "rows": [], "trials": [],
           "errors": [], "iperf": {}, "sparse": [], "connrate": None,
           "syscalls": None, "tls": None}
    running = []
    t_start = time.monotonic()
    try:
        datafile = os.path.join(work, "data.img")
        if workloads or "syscalls" in parts:
            log("writing 1 GiB of data to %s" % datafile)
            data.write_data(datafile, GIB)
        if workloads:
            running = start_all(build, groups, work, GIB, datafile, keep)
            res["rows"] = [{"name": s.name, "family": s.family, "storage": s.storage}
                           for s in running]

        if "iperf" in parts:
            log("iperf3 loopback ceiling")
            res["iperf"] = {"128 KiB writes (default)": iperf.best_mbps(trials),
                            "1 MiB writes (-l 1M)": iperf.best_mbps(trials, length="1M")}
            log("iperf3: %s" % res["iperf"])

        measure_all(running, workloads, trials, runtime, fio_out, res)
        for s in running:
            s.stop()
        running = []

        if "tls" in parts:
            log("TLS: fio over nbds://")
            res["tls"] = run_tls(build, groups, work, chosen, keep, trials, runtime, fio_out)

        if "sparse" in parts and os.environ.get("BENCH_SPARSE", "1") != "0":
            log("sparse copy")
            res["sparse"] = sparse.run(build, groups, work, trials)

        if "syscalls" in parts:
            rows = [r for r in SYSCALL_ROWS if not keep or any(k in r for k in keep)]
            log("system calls per request (strace -c -f): " + ", ".join(rows))
            running = start_all(build, groups, work, GIB, datafile, rows)
            res["syscalls"] = syscalls.run(running, fio_out, log)
            for s in running:
                s.stop()
            running = []

        if "connrate" in parts:
            log("connection rate, %g s per run" % conn_secs)
            res["connrate"] = connrate.run(build, conn_bin, groups, work, keep,
                                           conn_secs, trials, log)
    finally:
        for s in running:
            s.stop()
        groups.remove()
        shutil.rmtree(work, ignore_errors=True)
    res["meta"]["seconds"] = round(time.monotonic() - t_start)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", help="build dir with nbd-serverd and backends/")
    ap.add_argument("--out", help="where results.md/json go")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma-separated parts to run: %s (default all; "
                    "or BENCH_ONLY)" % ",".join(PARTS))
    ap.add_argument("--render", metavar="RESULTS_JSON",
                    help="measure nothing: print the report of an earlier run")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            print(report.build(json.load(f)))
        return
    if not a.build or not a.out:
        ap.error("--build and --out are needed to measure")
    parts = [p for p in a.only.split(",") if p] or PARTS
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        ap.error("unknown part(s) %s; the parts are %s" % (",".join(unknown), ",".join(PARTS)))
    os.makedirs(a.out, exist_ok=True)
    res = run(os.path.abspath(a.build), a.out, parts)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    text = report.build(res)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(text)
    print(text)
    log("saved %s" % os.path.join(a.out, "results.md"))
    # The report shows each failed cell; the exit status says there was one.
    failed = (res["errors"] + (res["connrate"] or {}).get("errors", [])
              + (res["syscalls"] or {}).get("errors", [])
              + (res["tls"] or {}).get("errors", []))
    if failed:
        sys.exit("bench: %d cell(s) failed, see the report" % len(failed))


if __name__ == "__main__":
    main()
