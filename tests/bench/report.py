# SPDX-License-Identifier: MIT
"""Turn one run's measurements (bench.run's dict, also saved as
results.json) into the markdown report: the table, the noise, the iperf3
ceiling, the sparse copy, and cnbd-vs-peer ratios with the issue's targets
beside them. Targets are printed (PASS/MISS), never asserted: the numbers
come from a shared, noisy machine."""

from connrate import WORKLOADS as CONN_WORKLOADS
from fio import WORKLOADS

LABEL = {k: label for k, label, _, _ in WORKLOADS}
UNIT = {k: unit for k, _, unit, _ in WORKLOADS}


def rate(v, unit):
    if v is None:
        return "n/a"
    if unit == "IOPS":
        return "%.1fk IOPS" % (v / 1000) if v >= 1000 else "%.0f IOPS" % v
    return "%.0f MB/s" % v


def us(v):
    return "n/a" if v is None else ("%.1f µs" % v if v < 100 else "%.0f µs" % v)


def verdict(ok):
    return "PASS" if ok else "MISS"


def cells_of(res):
    """(server, workload) -> best rate, lowest CPU per request, all rates."""
    cells = {}
    for t in res["trials"]:
        c = cells.setdefault((t["server"], t["workload"]), {"rates": [], "cpus": []})
        c["rates"].append(t["iops"] if UNIT[t["workload"]] == "IOPS" else t["mbps"])
        c["cpus"].append(t["cpu_us"])
        c.setdefault("trials", []).append(t)
    for c in cells.values():
        c["rate"], c["cpu_us"] = max(c["rates"]), min(c["cpus"])
        # The user/system split of the trial whose CPU is reported.
        low = min(c["trials"], key=lambda t: t["cpu_us"])
        if "user_us" in low:
            c["user_us"], c["sys_us"] = low["user_us"], low["sys_us"]
    for e in res.get("errors", []):
        cells.setdefault((e["server"], e["workload"]), {"rate": None})["error"] = e["error"]
    return cells


def header(meta):
    out = [
        "# cnbd benchmark, %s" % meta["date"],
        "",
        "- machine: %s, nproc %s, kernel %s" % (meta["cpu"], meta["nproc"], meta["kernel"]),
        "- client and server share these cores with each other (and today with"
        " other engineers' builds): compare rows of one run, not runs.",
    ]
    if meta.get("fio"):
        out.append("- %s; %d s per fio run, best of %d, trials interleaved across servers"
                   % (meta["fio"], meta["runtime"], meta["trials"]))
    out.append("- server CPU: %s; divided by the requests (or connections)"
               " completed in that run" % meta["cpu_method"])
    if "parts" in meta:
        out.append("- parts run: %s" % ", ".join(meta["parts"]))
    return out + [""]


def userspace(rows, cells, wkeys):
    out = ["## Userspace: fio --ioengine=nbd over TCP 127.0.0.1, data in RAM",
           "",
           "Each cell: best rate / the server's CPU per request (lowest of the"
           " trials; all processes and threads of the server).",
           "Rows marked (ref) do no storage work (null backends): they show"
           " protocol cost and are left out of the ratios; rows marked (layer)"
           " serve a layer over the file (cow), compared in their own table.",
           "",
           "| server | " + " | ".join(LABEL[k] for k in wkeys) + " |",
           "|---|" + "---|" * len(wkeys)]
    for srv in rows:
        name = srv["name"] + {"ref": " (ref)", "floor": " (floor)",
                              "layer": " (layer)"}.get(srv["family"], "")
        line = []
        for k in wkeys:
            c = cells.get((srv["name"], k))
            if c is None or c.get("rate") is None:
                line.append("error: %s" % (c or {}).get("error", "not run"))
            else:
                line.append("%s / %s" % (rate(c["rate"], UNIT[k]), us(c["cpu_us"])))
        out.append("| %s | %s |" % (name, " | ".join(line)))
    return out + [""]


def floor_table(rows, cells, wkeys):
    """Every server's CPU per request as a multiple of the floor server's
    (tests/bench/floor_server.c: the system calls alone) in the same run.
    The reference is the row named "floor", the recv/writev floor; "floor
    io_uring" (floor_uring.c) is a row like the others, read against it."""
    if not any(s["name"] == "floor" for s in rows):
        return []
    out = ["## CPU per request as a multiple of the floor", "",
           "Reference (1.0x): floor = tests/bench/floor_server.c, no checks, no"
           " storage, every request header of a recv() answered in one writev()."
           " 1.0x is what those system calls cost; the rest is each server's own"
           " work. floor io_uring = tests/bench/floor_uring.c, the same floor"
           " with a multishot receive and one send per completion burst on"
           " io_uring: below 1.0x is what io_uring saves.", "",
           "| server | " + " | ".join(LABEL[k] for k in wkeys) + " |",
           "|---|" + "---|" * len(wkeys)]
    for srv in rows:
        line = []
        for k in wkeys:
            c, f = cells.get((srv["name"], k)), cells.get(("floor", k))
            if not c or not f or c.get("rate") is None or f.get("rate") is None:
                line.append("n/a")
            else:
                split = ""
                if "user_us" in c:
                    split = " (%.1f user + %.1f sys µs)" % (c["user_us"], c["sys_us"])
                line.append("%.2fx%s" % (c["cpu_us"] / f["cpu_us"], split))
        out.append("| %s | %s |" % (srv["name"], " | ".join(line)))
    return out + ["Where the time goes: in parentheses, the same trial's CPU per"
                  " request split into user space and kernel (cgroup cpu.stat"
                  " user_usec / system_usec); the kernel part is the system calls"
                  " and the loopback TCP under them.", ""]


def layer_table(rows, cells, wkeys):
    """What a layer costs: cnbd's cow over file against cnbd's file alone
    and against nbdkit's cow filter over its file plugin, same run. The
    overlays start empty, so the write rows include the first write's
    copy-up of each 64 KiB block."""
    names = {s["name"] for s in rows}
    if "cnbd cow+file" not in names:
        return []
    out = ["## Layers: cow over file", "",
           "cnbd cow+file = a persistent overlay (`overlay = FILE`), empty at"
           " the start; nbdkit cow+file = `nbdkit --filter=cow file`; both"
           " 64 KiB blocks. Rates, and the ratio of cnbd's cow to each.", "",
           "| workload | cnbd file | cnbd cow+file | nbdkit cow+file | cow / file |"
           " cnbd cow / nbdkit cow |", "|---|---|---|---|---|---|"]

    def cell(name, k):
        c = cells.get((name, k))
        return c if c and c.get("rate") is not None else None

    for k in wkeys:
        f, c, n = cell("cnbd file", k), cell("cnbd cow+file", k), cell("nbdkit cow+file", k)
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            LABEL[k], *(rate(x["rate"], UNIT[k]) if x else "n/a" for x in (f, c, n)),
            "%.2fx" % (c["rate"] / f["rate"]) if c and f else "n/a",
            "%.2fx" % (c["rate"] / n["rate"]) if c and n else "n/a"))
    return out + [""]


def noise(cells):
    """How far apart the trials of one cell were: the honest error bar of
    a run on shared cores."""
    spread = sorted(((max(c["rates"]) - min(c["rates"])) / max(c["rates"]), key)
                    for key, c in cells.items() if len(c.get("rates", [])) > 1)
    if not spread:
        return []
    med = spread[len(spread) // 2][0]
    worst, (srv, k) = spread[-1]
    return ["Noise: the slowest trial of a cell was below its best by a median of"
            " %.0f%% (worst %.0f%%: %s, %s)." % (100 * med, 100 * worst, srv, LABEL[k]), ""]


def _best(rows, cells, k, family):
    best = None
    for srv in rows:
        c = cells.get((srv["name"], k))
        if srv["family"] == family and c and c.get("rate") is not None:
            if best is None or c["rate"] > best[1]["rate"]:
                best = (srv, c)
    return best


def _cpu_rows(rows, cells, k):
    """CPU per request like for like: each cnbd storage backend against
    nbdkit's plugin of the same kind. Not tied to whichever backend won on
    throughput, which on a noisy machine can flip from run to run."""
    out, names = [], {s["name"] for s in rows}
    for kind in ("memory", "file"):
        ours, theirs = "cnbd " + kind, "nbdkit " + kind
        a, b = cells.get((ours, k)), cells.get((theirs, k))
        if ours not in names or theirs not in names:
            continue
        if not a or not b or a.get("rate") is None or b.get("rate") is None:
            out.append("| %s CPU/request, %s | | | | <= 0.5x | not measured |" % (LABEL[k], kind))
            continue
        r = a["cpu_us"] / b["cpu_us"]
        out.append("| %s CPU/request, %s | %s | %s (%s) | %.2fx | <= 0.5x | %s |" % (
            LABEL[k], kind, us(a["cpu_us"]), us(b["cpu_us"]), theirs, r, verdict(r <= 0.5)))
        f = cells.get(("floor", k))
        if f and f.get("rate") is not None:
            r = a["cpu_us"] / f["cpu_us"]
            out.append("| %s CPU/request, %s vs floor | %s | %s (floor) | %.2fx | <= 2x | %s |" % (
                LABEL[k], kind, us(a["cpu_us"]), us(f["cpu_us"]), r, verdict(r <= 2.0)))
    return out


def ratios(rows, cells, wkeys, ceiling, sparse):
    out = ["## cnbd's best backend vs the best peer (same run)", "",
           "cnbd's best = its faster storage backend (memory or file) for that"
           " workload; best peer = the fastest of nbdkit memory/file, nbd-server,"
           " qemu-nbd. CPU per request is compared like for like with nbdkit's"
           " plugin of the same kind.",
           "",
           "| measure | cnbd | peer | ratio | target | |",
           "|---|---|---|---|---|---|"]
    for k in wkeys:
        cn, peer = _best(rows, cells, k, "cnbd"), _best(rows, cells, k, "peer")
        if not cn or not peer:
            out.append("| %s | %s | %s | | | not measured |" % (
                LABEL[k], "n/a" if not cn else "", "n/a" if not peer else ""))
            continue
        (cs, cc), (ps, pc) = cn, peer
        r = cc["rate"] / pc["rate"]
        want = 1.0 if k in ("sr1m", "sw1m") else 1.3
        out.append("| %s | %s (%s) | %s (%s) | %.2fx | >= %.1fx | %s |" % (
            LABEL[k], rate(cc["rate"], UNIT[k]), cs["storage"],
            rate(pc["rate"], UNIT[k]), ps["name"], r, want, verdict(r >= want)))
        if k in ("rr4k", "rw4k"):
            out += _cpu_rows(rows, cells, k)
        if k in ("sr1m", "sw1m") and ceiling:
            r = cc["rate"] / ceiling
            out.append("| %s vs iperf3 | %s | %s (iperf3) | %.2fx | >= 0.85x | %s |" % (
                LABEL[k], rate(cc["rate"], "MB/s"), rate(ceiling, "MB/s"),
                r, verdict(r >= 0.85)))
    for name, t_sparse, t_small in sparse:
        if name.startswith("cnbd"):
            r = t_sparse / t_small
            out.append("| sparse copy 8 GiB (64 MiB data) vs 64 MiB | %.2f s | %.2f s (64 MiB) "
                       "| %.2fx | < 3x | %s |" % (t_sparse, t_small, r, verdict(r < 3)))
    return out + [""]


def sparse_table(sparse, trials):
    out = ["## Sparse copy: nbdcopy EXPORT null: (best of %d)" % trials, "",
           "| server | 8 GiB export, 64 MiB data in 1 MiB pieces | 64 MiB export | ratio |",
           "|---|---|---|---|"]
    for name, a, b in sparse:
        out.append("| %s | %.2f s | %.2f s | %.2fx |" % (name, a, b, a / b))
    return out + [""]


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _spread(xs, unit=""):
    """median (min-max): on a shared machine the spread is half the result."""
    if len(xs) == 1:
        return "%.0f%s" % (xs[0], unit)
    return "%.0f%s (%.0f-%.0f)" % (_median(xs), unit, min(xs), max(xs))


def connrate_table(cr):
    cells = {}
    for c in cr["cells"]:
        cells.setdefault((c["server"], c["workload"]), []).append(c)
    errors = {(e["server"], e["workload"]): e["error"] for e in cr["errors"]}
    out = ["## Connection cost: whole connections per second (tests/bench/connrate.c)", "",
           "One connection: TCP connect, fixed-newstyle handshake, NBD_OPT_GO,"
           " one 4 KiB READ, NBD_CMD_DISC, the server's close. 64 MiB exports;"
           " %g s per run, %d trials interleaved across servers; each cell is the"
           " median (min-max) of the trials: connections/s, then the server's CPU"
           " per connection (all its processes; exiting workers waited for)."
           % (cr["seconds"], cr["trials"]),
           "",
           "| server | " + " | ".join(
               "%s: conn/s | %s: CPU/conn" % (lab, lab) for _, lab, _ in CONN_WORKLOADS) + " |",
           "|---|" + "---|---|" * len(CONN_WORKLOADS)]
    med = {}
    for name in cr["rows"]:
        line = []
        for key, _, _ in CONN_WORKLOADS:
            got = cells.get((name, key))
            if (name, key) in errors or not got:
                line += ["error: %s" % errors.get((name, key), "not run"), ""]
                continue
            rates = [c["rate"] for c in got]
            cpus = [c["cpu_us"] for c in got]
            med[(name, key)] = (_median(rates), _median(cpus))
            line += [_spread(rates), _spread(cpus, " µs")]
        out.append("| %s | %s |" % (name, " | ".join(line)))
    out.append("")
    clients = [c["client_us"] for c in cr["cells"]]
    if clients:
        out += ["The client's own CPU per connection (connrate, same cores):"
                " median %.0f µs (%.0f-%.0f)." % (_median(clients), min(clients),
                                                   max(clients)), ""]
    # cnbd against each peer, medians, like for like where a like exists.
    pairs = [("cnbd memory", "nbdkit memory"), ("cnbd file", "nbd-server file"),
             ("cnbd file", "qemu-nbd file")]
    ratio_lines = []
    for ours, theirs in pairs:
        parts = []
        for key, lab, _ in CONN_WORKLOADS:
            a, b = med.get((ours, key)), med.get((theirs, key))
            if a and b:
                parts.append("%s %.2fx conn/s, %.2fx CPU/conn" % (lab, a[0] / b[0], a[1] / b[1]))
        if parts:
            ratio_lines.append("- %s vs %s: %s" % (ours, theirs, "; ".join(parts)))
    if ratio_lines:
        out += ["Ratios of medians (cnbd / peer):", ""] + ratio_lines + [""]
    return out


def tls_table(t, trials):
    """The TLS part (tls.py): each row's cells, then TLS against the same
    server in plaintext, and cnbd against nbdkit, both with TLS."""
    cells = cells_of(t)
    wkeys = [k for k, _, _, _ in WORKLOADS if any(w == k for _, w in cells)]
    names = [r["name"] for r in t["rows"]]
    out = ["## TLS: fio --ioengine=nbd over nbds:// (X.509, TLS 1.3), memory backends, %d MiB"
           % (t["size"] >> 20), "",
           "Each cell: best rate of %d / the server's CPU per request (lowest). fio finds"
           " the test CA in libnbd's default directory ($HOME/.pki/libnbd, fio run as nobody):"
           " fio's engine cannot pass tls-certificates= (tests/bench/tls.py)." % trials, ""]
    if t.get("no_kernel_tls"):
        out += ["Kernel TLS in nbd-serverd's workers is not measured here: %s (tls-kernel ="
                " auto falls back to GnuTLS; make bench-kernel has the A/B)."
                % t["no_kernel_tls"], ""]
    out += ["| server | " + " | ".join(LABEL[k] for k in wkeys) + " |",
            "|---|" + "---|" * len(wkeys)]
    for name in names:
        line = []
        for k in wkeys:
            c = cells.get((name, k))
            if c is None or c.get("rate") is None:
                line.append("error: %s" % (c or {}).get("error", "not run"))
            else:
                line.append("%s / %s" % (rate(c["rate"], UNIT[k]), us(c["cpu_us"])))
        out.append("| %s | %s |" % (name, " | ".join(line)))
    out.append("")
    for name, how in sorted(t.get("carried", {}).items()):
        out.append("- %s: %s" % (name, how))
    pairs = [(n, n.split(" TLS")[0], "TLS / plaintext") for n in names if " TLS" in n]
    pairs += [(n, "nbdkit memory TLS", "cnbd / nbdkit, both TLS")
              for n in names if n.startswith("cnbd") and " TLS" in n]
    pairs.append(("cnbd memory TLS (kernel)", "cnbd memory TLS (GnuTLS)",
                  "workers' kernel TLS / GnuTLS"))
    out += ["", "| ratio | " + " | ".join(LABEL[k] for k in wkeys) + " |",
            "|---|" + "---|" * len(wkeys)]
    for a, b, what in pairs:
        if a not in names or b not in names:
            continue
        line = []
        for k in wkeys:
            ca, cb = cells.get((a, k)), cells.get((b, k))
            if not ca or not cb or ca.get("rate") is None or cb.get("rate") is None:
                line.append("n/a")
                continue
            line.append("%.2fx rate, %.2fx CPU" % (ca["rate"] / cb["rate"],
                                                    ca["cpu_us"] / cb["cpu_us"]))
        out.append("| %s: %s vs %s | %s |" % (what, a, b, " | ".join(line)))
    return out + [""] + noise(cells)
def syscalls_table(sc):
    """System calls per request: the total, and the calls that make it."""
    cells = {(c["server"], c["workload"]): c["per_request"] for c in sc["cells"]}
    servers = []
    for c in sc["cells"]:
        if c["server"] not in servers:
            servers.append(c["server"])
    wkeys = []
    for c in sc["cells"]:
        if c["workload"] not in wkeys:
            wkeys.append(c["workload"])
    out = ["## System calls per request (strace -c -f, %d requests)" % sc["requests"], "",
           "Counts only (strace slows every call); each cell: the total per"
           " request, then the calls above 0.05 per request.", "",
           "| server | " + " | ".join(LABEL[k] for k in wkeys) + " |",
           "|---|" + "---|" * len(wkeys)]
    for srv in servers:
        line = []
        for k in wkeys:
            per = cells.get((srv, k))
            if per is None:
                line.append("n/a")
                continue
            top = sorted(((n, name) for name, n in per.items() if n >= 0.05), reverse=True)
            line.append("%.2f: %s" % (sum(per.values()),
                                      ", ".join("%s %.2f" % (name, n) for n, name in top)))
        out.append("| %s | %s |" % (srv, " | ".join(line)))
    for e in sc["errors"]:
        out.append("- %s %s: %s" % (e["server"], LABEL[e["workload"]], e["error"]))
    return out + [""]


def build(res):
    meta, rows, wkeys = res["meta"], res["rows"], res["workloads"]
    cells = cells_of(res)
    ceiling = max(res["iperf"].values()) if res["iperf"] else None
    lines = header(meta)
    if rows:
        lines += userspace(rows, cells, wkeys) + floor_table(rows, cells, wkeys) + noise(cells)
        lines += layer_table(rows, cells, wkeys)
    if res["iperf"]:
        runs = "; ".join("%s %s" % (k, rate(v, "MB/s")) for k, v in res["iperf"].items())
        lines += ["iperf3, one TCP stream over loopback, best of %d: %s. Ceiling used"
                  " below: the higher one." % (meta["trials"], runs), ""]
    if res["sparse"]:
        lines += sparse_table(res["sparse"], meta["trials"])
    if rows or res["sparse"]:
        lines += ratios(rows, cells, wkeys, ceiling, res["sparse"])
    if res.get("tls"):
        lines += tls_table(res["tls"], meta["trials"])
    if res.get("syscalls"):
        lines += syscalls_table(res["syscalls"])
    if res.get("connrate"):
        lines += connrate_table(res["connrate"])
    if "seconds" in meta:
        lines += ["(this run took %d s)" % meta["seconds"], ""]
    return "\n".join(lines)
