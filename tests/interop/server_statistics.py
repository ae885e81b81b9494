#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Statistics, after a workload whose every request is known:

- fio's nbd engine with a fixed number of requests (--number_ios: 300
  random 4 KiB writes at queue depth 8, 100 sequential 64 KiB reads) on
  one export, and an nbdsh session of flushes, trims, zeroes, caches,
  block status queries and refused requests (EINVAL past the end, EPERM
  on a read-only export) on others;
- `nbdctl server stats --json`: requests and bytes by command exact,
  errors by command and by NBD error exact, each command's latency
  histogram summing to its requests, an untouched export all zero; a live
  connection's own counts, with its peer, and the export's counts being
  the sum of its ended and live connections; the plain form shows them;
- the Prometheus text, from `nbdctl server stats --prometheus` and from
  statistics-file (written by rename, for node_exporter's textfile
  collector), parsed by python3-prometheus-client's parser: the same
  figures, buckets cumulative and +Inf equal to _count;
- a reload that changes an export keeps its counts (by name, like
  leases); statistics = off counts nothing, and says so in no error."""

import json
import os
import sys
import tempfile
import time

import nbd
import nbdtest
from nbdtest import check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_helpers as sh  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

CMDS = ["read", "write", "flush", "trim", "cache", "write_zeroes", "block_status", "other"]
ERRS = ["EPERM", "EIO", "ENOMEM", "EINVAL", "ENOSPC", "EOVERFLOW", "ENOTSUP", "ESHUTDOWN",
        "other"]

EXPORTS = {
    "fio": {"backend": "memory", "size": "64M"},
    "mix": {"backend": "memory", "size": "16M"},
    "ro": {"backend": "memory", "size": "1M", "readonly": True},
    "idle": {"backend": "memory", "size": "1M"},
}


def stats(srv, *args):
    _, out, _ = sh.nbdctl(srv, "stats", *args)
    return out


def stats_json(srv, name=None):
    doc = json.loads(stats(srv, *(([name] if name else []) + ["--json"])))
    check(len(doc["latency-bucket-us"]) == 32 and doc["latency-bucket-us"][:3] == [1, 2, 4]
          and doc["latency-bucket-us"][-1] is None, "bucket bounds %s" % doc["latency-bucket-us"])
    return doc


def export_of(doc, name):
    rows = [e for e in doc["exports"] if e["name"] == name]
    check(len(rows) == 1, "export %s: %d rows in %s" % (name, len(rows), doc["exports"]))
    return rows[0]


def consistent(row, what):
    for c in CMDS:
        k = row["commands"][c]
        check(sum(k["latency-histogram"]) == k["requests"],
              "%s %s: histogram sums to %d, %d requests" %
              (what, c, sum(k["latency-histogram"]), k["requests"]))
        check(k["errors"] <= k["requests"], "%s %s: more errors than requests" % (what, c))
    check(sum(row["errors"].values()) == sum(row["commands"][c]["errors"] for c in CMDS),
          "%s: errors by kind and by command differ" % what)


def expect(row, what, want, errors=None):
    """want: {command: (requests, bytes, errors)}; every other command 0."""
    consistent(row, what)
    for c in CMDS:
        k = row["commands"][c]
        got = (k["requests"], k["bytes"], k["errors"])
        check(got == want.get(c, (0, 0, 0)),
              "%s %s: (requests, bytes, errors) %s, want %s" % (what, c, got, want.get(c, (0, 0, 0))))
    for e in ERRS:
        check(row["errors"][e] == (errors or {}).get(e, 0),
              "%s: %s errors %d, want %d" % (what, e, row["errors"][e], (errors or {}).get(e, 0)))


def run_fio(srv):
    nbdtest.run(["fio", "--name=w", "--ioengine=nbd", "--uri=" + srv.uri("fio"),
                 "--rw=randwrite", "--bs=4k", "--size=16M", "--number_ios=300",
                 "--iodepth=8", "--output-format=terse"], timeout=120)
    nbdtest.run(["fio", "--name=r", "--ioengine=nbd", "--uri=" + srv.uri("fio"),
                 "--rw=read", "--bs=64k", "--size=16M", "--number_ios=100",
                 "--iodepth=4", "--output-format=terse"], timeout=120)
    return {"write": (300, 300 * 4096, 0), "read": (100, 100 * 65536, 0)}


def run_mix(srv):
    """On mix: every command and two refusals; returns the expectations."""
    h = srv.connect("mix", strict=0)
    for i in range(5):
        h.flush()
    for i in range(7):
        h.trim(8192, i * 65536)
    for i in range(3):
        h.zero(12345, 1 << 20)
    for i in range(4):
        h.cache(4096, 0)
    for i in range(2):
        h.pwrite(b"m" * 1000, 77)
    nbdtest.expect_nbd_error(22, h.pread, 4096, 16 << 20, what="a read past the end")
    h.shutdown()
    g = nbd.NBD()
    g.add_meta_context("base:allocation")
    g.connect_uri(srv.uri("mix"))
    for i in range(6):
        g.block_status(65536, 0, lambda *a: 0)
    g.shutdown()
    r = srv.connect("ro", strict=0)
    nbdtest.expect_nbd_error(1, r.pwrite, b"x" * 512, 0, what="a write to a read-only export")
    r.pread(512, 0)
    r.shutdown()
    mix = {"flush": (5, 0, 0), "trim": (7, 7 * 8192, 0), "write_zeroes": (3, 3 * 12345, 0),
           "cache": (4, 4 * 4096, 0), "write": (2, 2000, 0), "read": (1, 4096, 1),
           "block_status": (6, 6 * 65536, 0)}
    ro = {"write": (1, 512, 1), "read": (1, 512, 0)}
    return mix, ro


def live_connection(srv, before):
    """A connection in progress: its own row, and the export's total is
    what ended plus what it did so far."""
    h = srv.connect("mix")
    for i in range(9):
        h.pwrite(b"L" * 4096, i * 4096)
    h.flush()
    doc = stats_json(srv, "mix")
    conns = [c for c in doc["connections"] if c["name"] == "mix"]
    check(len(conns) == 1, "one live connection to mix: %s" % conns)
    c = conns[0]
    check(c["peer"].startswith("127.0.0.1:") and c["pid"] > 0, "the connection's peer %r" % c)
    expect(c, "the live connection", {"write": (9, 9 * 4096, 0), "flush": (1, 0, 0)})
    total = export_of(doc, "mix")
    check(total["connections"] == 1, "mix has %d connections now" % total["connections"])
    w = total["commands"]["write"]
    check(w["requests"] == before["write"][0] + 9,
          "the export's writes %d = %d ended + 9 live" % (w["requests"], before["write"][0]))
    plain = stats(srv, "mix")
    check("export mix: 1 connection now" in plain and "connection " in plain and
          "127.0.0.1:" in plain, "the plain form:\n%s" % plain)
    h.shutdown()
    after = dict(before)
    after["write"] = (before["write"][0] + 9, before["write"][1] + 9 * 4096, 0)
    after["flush"] = (before["flush"][0] + 1, 0, 0)
    return after


def prometheus(text, what):
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    for want in ("cnbd_requests", "cnbd_request_bytes", "cnbd_request_errors", "cnbd_errors",
                 "cnbd_request_duration_seconds", "cnbd_connections",
                 "cnbd_stats_written_timestamp_seconds"):
        check(want in fams, "%s: no %s family (%s)" % (what, want, sorted(fams)))
    check(fams["cnbd_request_duration_seconds"].type == "histogram", "histogram type")
    return fams


def sample(fams, family, name, **labels):
    for s in fams[family].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise nbdtest.TestFailure("no %s %s" % (name, labels))


def check_prometheus(fams, doc, what):
    for e in doc["exports"]:
        for c in CMDS:
            k = e["commands"][c]
            lab = {"export": e["name"], "command": c}
            check(sample(fams, "cnbd_requests", "cnbd_requests_total", **lab) == k["requests"],
                  "%s: %s %s requests" % (what, e["name"], c))
            check(sample(fams, "cnbd_request_bytes", "cnbd_request_bytes_total", **lab) ==
                  k["bytes"], "%s: %s %s bytes" % (what, e["name"], c))
            buckets = [s for s in fams["cnbd_request_duration_seconds"].samples
                       if s.name.endswith("_bucket") and s.labels["export"] == e["name"]
                       and s.labels["command"] == c]
            vals = [s.value for s in buckets]
            check(len(vals) == 32 and vals == sorted(vals), "%s: %s %s buckets %s" %
                  (what, e["name"], c, vals))
            check(buckets[-1].labels["le"] == "+Inf" and vals[-1] == k["requests"] ==
                  sample(fams, "cnbd_request_duration_seconds",
                         "cnbd_request_duration_seconds_count", **lab),
                  "%s: %s %s +Inf and _count" % (what, e["name"], c))
        for err in ERRS:
            check(sample(fams, "cnbd_errors", "cnbd_errors_total", export=e["name"], error=err)
                  == e["errors"][err], "%s: %s %s" % (what, e["name"], err))


def main():
    nbdtest.need("fio", "nbdsh")
    out_dir = tempfile.mkdtemp(prefix="cnbd-prom.")
    prom = os.path.join(out_dir, "cnbd.prom")
    with sh.server(EXPORTS, server={"statistics-file": prom, "statistics-interval": 1}) as srv:
        fio = run_fio(srv)
        mix, ro = run_mix(srv)
        time.sleep(0.3)     # the last workers reaped
        doc = stats_json(srv)
        expect(export_of(doc, "fio"), "export fio", fio)
        expect(export_of(doc, "mix"), "export mix", mix, {"EINVAL": 1})
        expect(export_of(doc, "ro"), "export ro", ro, {"EPERM": 1})
        expect(export_of(doc, "idle"), "export idle", {})
        check(doc["connections"] == [], "no live connection: %s" % doc["connections"])
        print("fio:", json.dumps(export_of(doc, "fio")["commands"]["write"]))

        mix = live_connection(srv, mix)
        time.sleep(0.3)
        doc = stats_json(srv)
        expect(export_of(doc, "mix"), "export mix after the live one", mix, {"EINVAL": 1})

        text = stats(srv, "--prometheus")
        check_prometheus(prometheus(text, "nbdctl --prometheus"), doc, "nbdctl --prometheus")
        deadline = time.monotonic() + 5
        while True:     # the file catches up within its interval
            with open(prom) as f:
                ftext = f.read()
            try:
                check_prometheus(prometheus(ftext, "statistics-file"), doc, "statistics-file")
                break
            except nbdtest.TestFailure:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        check(oct(os.stat(prom).st_mode & 0o777) == "0o644", "the file's mode")
        check(not [n for n in os.listdir(out_dir) if n != "cnbd.prom"],
              "files left beside it: %s" % os.listdir(out_dir))

        # A reload that changes mix keeps its counts.
        ex = dict(EXPORTS)
        ex["mix"] = dict(EXPORTS["mix"], description="changed")
        srv.rewrite_config(exports=ex, server={"control": srv.control, "statistics-file": prom,
                                               "statistics-interval": 1})
        line = sh.sighup(srv)
        check("1 changed" in line, "reload: %s" % line)
        expect(export_of(stats_json(srv), "mix"), "mix after a reload", mix, {"EINVAL": 1})
        rc, _, err = sh.nbdctl(srv, "stats", "nosuch", check=False)
        check(rc == 1 and "no export named 'nosuch'" in err, "stats of an unknown export: %s" % err)
        rc, out, _ = sh.nbdctl(srv, "stats", "--help", check=False)
        check(rc == 0 and out.startswith("usage: nbdctl server stats"), "stats --help: %d %s" %
              (rc, out))
        rc, _, err = sh.nbdctl(srv, "stats", "--bogus", check=False)
        check(rc == 2 and "usage:" in err, "stats --bogus: %d %s" % (rc, err))

    with sh.server({"m": dict(EXPORTS["idle"])}, server={"statistics": False}) as srv:
        h = srv.connect("m")
        h.pwrite(b"z" * 512, 0)
        h.shutdown()
        time.sleep(0.2)
        expect(export_of(stats_json(srv), "m"), "statistics = off", {})
    os.unlink(prom)
    os.rmdir(out_dir)


nbdtest.main(main)
