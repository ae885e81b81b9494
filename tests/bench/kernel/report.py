#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Read the CNBD-BENCH lines of a kernel-bench console log (written by
tests/bench/kernel/guest.sh inside the VM) and print the markdown section
that make bench-kernel appends to results.md: best rate of the trials and
lowest server CPU per request, per stack and workload, then ratios against
Debian's nbd-client + nbd-server measured in the same VM, and the TLS
stacks against plaintext. --pool LOG... pools the workers' kernel TLS A/B
over several runs."""

import datetime
import os
import re
import statistics
import sys

WORKLOADS = [("rr4k", "4K randread QD32", "IOPS"),
             ("rw4k", "4K randwrite QD32", "IOPS"),
             ("sr1m", "1M seqread QD8", "MB/s")]
PLAIN_STACKS = ["nbd-client+nbd-server", "nbd-client+nbd-serverd", "nbd-clientd+nbd-serverd"]
PEER = PLAIN_STACKS[0]
PLAIN = PLAIN_STACKS[2]         # what the TLS stacks are compared with
TLS_STACKS = [
    ("nbd-clientd:kernel+nbd-serverd:gnutls", "kernel TLS (server: GnuTLS)"),
    ("nbd-clientd:relay+nbd-serverd:gnutls", "relay (server: GnuTLS)"),
    ("nbd-clientd:kernel+nbd-serverd:kernel", "kernel TLS (server: kernel TLS)"),
]
STACKS = PLAIN_STACKS + [s for s, _ in TLS_STACKS]


def rate(v, unit):
    if unit == "IOPS":
        return "%.1fk IOPS" % (v / 1000) if v >= 1000 else "%.0f IOPS" % v
    return "%.0f MB/s" % v


def us(v):
    return "%.1f µs" % v if v < 100 else "%.0f µs" % v


def paired(best, a, b, w, what):
    """The median over the trials of a's value / b's in the same trial. The
    trials are interleaved, so trial t of a and of b ran seconds apart:
    a burst of load on the shared host hits both, where a best-of-N
    ratio can pair one stack's lucky minute with another's bad one."""
    ta, tb = best["trials"].get((a, w), {}), best["trials"].get((b, w), {})
    r = sorted(ta[t][what] / tb[t][what] for t in ta
               if t in tb and what in ta[t] and what in tb[t] and tb[t][what])
    if not r:
        return None
    return r[len(r) // 2] if len(r) % 2 else (r[len(r) // 2 - 1] + r[len(r) // 2]) / 2


def noise(best):
    """The spread of the trials: under TCG on shared cores, the error bar."""
    spread = sorted(((max(b["rates"]) - min(b["rates"])) / max(b["rates"]), key)
                    for key, b in best.items() if key != "trials" and len(b["rates"]) > 1)
    if not spread:
        return []
    worst, (s, w) = spread[-1]
    return ["", "Noise: the slowest trial of a cell was below its best by a median of"
            " %.0f%% (worst %.0f%%: %s, %s)." % (100 * spread[len(spread) // 2][0],
                                                   100 * worst, s.replace("+", " + "), dict((k, l) for k, l, _ in WORKLOADS)[w])]


def parse(path):
    meta, best, unavailable = {}, {}, {}
    best["trials"] = {}      # (stack, workload) -> {trial: per-request values}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r"CNBD-BENCH: (.*)$", line.rstrip())
            if not m:
                continue
            body = m.group(1)
            if body.startswith("meta "):
                meta.update(kv.split("=", 1) for kv in body[5:].split() if "=" in kv)
                continue
            if body.startswith("meta-tls "):
                meta["tls_stat"] = body[9:].strip()
                continue
            if body.startswith("meta-crypto "):
                meta["crypto"] = body[12:].strip()
                continue
            m = re.match(r"stack=(\S+) unavailable=(.*)", body)
            if m:
                unavailable[m.group(1)] = m.group(2)
                continue
            kv = dict(x.split("=", 1) for x in body.split())
            key = (kv["stack"], kv["workload"])
            unit = dict((w, u) for w, _, u in WORKLOADS)[kv["workload"]]
            v = float(kv["iops"] if unit == "IOPS" else kv["mbps"])
            n = int(kv["requests"])
            b = best.setdefault(key, {"rate": 0.0, "rates": []})
            b["rate"] = max(b["rate"], v)
            b["rates"].append(v)
            # The lowest of the trials, per request: server, daemon (older
            # logs lack it), whole VM.
            t = best["trials"].setdefault(key, {}).setdefault(int(kv["trial"]), {"rate": v})
            for k, out in (("cpu_ns", "cpu_us"), ("daemon_ns", "daemon_us"), ("vm_ns", "vm_us")):
                if k in kv:
                    b[out] = min(b.get(out, float("inf")), int(kv[k]) / 1000.0 / n)
                    t[out] = int(kv[k]) / 1000.0 / n
    return meta, best, unavailable


def pool(logs):
    """report.py --pool LOG...: the workers' A/B over several runs, each
    trial paired with the other stack's same trial of the same run, the
    medians and quartiles of those ratios (one run's trials are few for
    a median on a host whose load swings by tens)."""
    a_key, b_key = TLS_STACKS[2][0], TLS_STACKS[0][0]
    out = ["| workload | pairs | rate: median (quartiles) | server CPU: median (quartiles)"
           " | VM CPU: median | pairs with less server CPU |", "|---|---|---|---|---|---|"]
    for w, label, _ in WORKLOADS:
        pairs = []
        for log in logs:
            trials = parse(log)[1]["trials"]
            ta, tb = trials.get((a_key, w), {}), trials.get((b_key, w), {})
            pairs += [(ta[t]["rate"] / tb[t]["rate"], ta[t]["cpu_us"] / tb[t]["cpu_us"],
                       ta[t]["vm_us"] / tb[t]["vm_us"]) for t in ta if t in tb]
        if len(pairs) < 2:
            continue
        r, c, v = (sorted(x[i] for x in pairs) for i in range(3))
        q = lambda xs: "%.2fx (%.2f-%.2f)" % (statistics.median(xs), *statistics.quantiles(xs, n=4)[::2])
        out.append("| %s | %d | %s | %s | %.2fx | %d |" % (label, len(pairs), q(r), q(c),
                                                           statistics.median(v),
                                                           sum(x < 1 for x in c)))
    print("\n".join(out))


def main():
    if sys.argv[1:2] == ["--pool"]:
        pool(sys.argv[2:])
        return
    log, rc = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
    meta, best, unavailable = parse(log)
    # When the VM run ended (the console log's last write), so a re-render
    # of an old log keeps its date.
    now = datetime.datetime.fromtimestamp(os.path.getmtime(log), datetime.timezone.utc) \
        .strftime("%Y-%m-%d %H:%M UTC")
    out = ["## Kernel path: fio libaio + O_DIRECT on /dev/nbdX inside the VM, %s" % now, "",
           "- guest kernel %s, %s vCPUs under qemu TCG (emulated: absolute numbers are far"
           " below the host's; compare rows), %s MiB file export on the guest's tmpfs"
           % (meta.get("kernel", "?"), meta.get("nproc", "?"), meta.get("size_mib", "?")),
           "- emulated CPU %s; of the instructions TLS's ciphers use (aes, pclmulqdq, ssse3,"
           " avx, avx2) it has: %s (without aes, GnuTLS and the kernel both encrypt in plain C)"
           % (meta.get("cpu", "?"), meta.get("cpuflags", "?")),
           "- %s s per run, best of %s, trials interleaved across stacks; the devices"
           " are attached at once" % (meta.get("runtime", "?"), meta.get("trials", "?")),
           "- CPU: the server's cgroup (all its processes), per request; the kernel client's"
           " work runs in kernel threads and is not counted", ""]
    if rc:
        out += ["**The VM run failed (status %d): the numbers below are whatever was"
                " printed before it did; see the console log.**" % rc, ""]
    out += ["| client + server | " + " | ".join(l for _, l, _ in WORKLOADS) + " |",
            "|---|" + "---|" * len(WORKLOADS)]
    for s in STACKS:
        if s in unavailable:
            cells = ["not available: %s" % unavailable[s]] + [""] * (len(WORKLOADS) - 1)
        else:
            cells = []
            for w, _, unit in WORKLOADS:
                b = best.get((s, w))
                cells.append("%s / %s" % (rate(b["rate"], unit), us(b["cpu_us"]))
                             if b else "not measured")
        out.append("| %s | %s |" % (s.replace("+", " + "), " | ".join(cells)))
    out += noise(best)
    out += ["", "| vs nbd-client + nbd-server | " + " | ".join(l for _, l, _ in WORKLOADS) + " |",
            "|---|" + "---|" * len(WORKLOADS)]
    for s in PLAIN_STACKS[1:]:
        cells = []
        for w, _, _ in WORKLOADS:
            a, p = best.get((s, w)), best.get((PEER, w))
            cells.append("%.2fx rate, %.2fx CPU" % (a["rate"] / p["rate"], a["cpu_us"] / p["cpu_us"])
                         if a and p else "n/a")
        out.append("| %s | %s |" % (s.replace("+", " + "), " | ".join(cells)))
    out += tls_section(meta, best)
    print("\n".join(out) + "\n")


def tls_section(meta, best):
    """The TLS stacks as ratios to the same client and server in plaintext:
    under TCG the absolute numbers say little, the ratios more."""
    if not any((s, w) in best for s, _ in TLS_STACKS for w, _, _ in WORKLOADS):
        return []
    out = ["", "### Over TLS (nbds://, TLS 1.3), as ratios to nbd-clientd + nbd-serverd in plaintext",
           "",
           "Each cell: rate, the server's CPU per request, the whole VM's busy CPU per request"
           " (kernel threads and fio included: where kernel TLS does its crypto), each as"
           " the median over the trials of the ratio to plaintext in the same trial; then"
           " nbd-clientd's own CPU per request, lowest of the trials (the relay's work; the"
           " daemon is idle for plaintext and kernel TLS devices).", "",
           "| client TLS (server) | " + " | ".join(l for _, l, _ in WORKLOADS) + " |",
           "|---|" + "---|" * len(WORKLOADS)]
    for s, label in TLS_STACKS:
        cells = []
        for w, _, _ in WORKLOADS:
            a = best.get((s, w))
            r, c, v = (paired(best, s, PLAIN, w, k) for k in ("rate", "cpu_us", "vm_us"))
            if not a or r is None:
                cells.append("n/a")
                continue
            cell = "%.2fx rate, %.2fx server CPU" % (r, c)
            if v is not None:
                cell += ", %.2fx VM CPU" % v
            if "daemon_us" in a:
                cell += ", daemon %s" % us(a["daemon_us"])
            cells.append(cell)
        out.append("| %s | %s |" % (label, " | ".join(cells)))
    # The server's A/B: the same kernel TLS client, the worker's TLS in
    # the kernel or in GnuTLS.
    a_key, b_key = TLS_STACKS[2][0], TLS_STACKS[0][0]
    cells, bests = [], []
    for w, _, _ in WORKLOADS:
        r, c = paired(best, a_key, b_key, w, "rate"), paired(best, a_key, b_key, w, "cpu_us")
        cells.append("%.2fx rate, %.2fx server CPU" % (r, c) if r is not None else "n/a")
        a, b = best.get((a_key, w)), best.get((b_key, w))
        bests.append("%.2fx rate, %.2fx server CPU" % (a["rate"] / b["rate"], a["cpu_us"] / b["cpu_us"])
                     if a and b else "n/a")
    out += ["", "nbd-serverd's workers with kernel TLS (tls-kernel = auto) against GnuTLS"
            " (tls-kernel = off), the same kernel TLS client: the median of the per-trial"
            " ratios, and the ratio of the best trials:", "",
            "| server A/B | " + " | ".join(l for _, l, _ in WORKLOADS) + " |",
            "|---|" + "---|" * len(WORKLOADS),
            "| kernel TLS / GnuTLS, per-trial median | %s |" % " | ".join(cells),
            "| kernel TLS / GnuTLS, best of each | %s |" % " | ".join(bests)]
    if meta.get("crypto"):
        out += ["", "The guest kernel's AEAD implementations after the runs (/proc/crypto,"
                " name=driver): %s" % meta["crypto"]]
    if meta.get("tls_stat"):
        out += ["", "The guest kernel's TLS sockets while measuring (/proc/net/tls_stat): %s"
                % meta["tls_stat"]]
    return out


if __name__ == "__main__":
    main()
