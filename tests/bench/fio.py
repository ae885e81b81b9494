# SPDX-License-Identifier: MIT
"""The five userspace workloads, run with fio's nbd engine (libnbd), and
what we keep of fio's JSON: requests completed, bytes moved, rates.

No ramp_time: the server's CPU is measured over fio's whole life (see
bench.py), so the request count must cover the whole life too; fio does
not count requests made during a ramp. Nothing here needs warming: the
data sits in RAM (/dev/shm or a prefilled memory export) and a loopback
TCP connection is up in well under a millisecond. Interleaving the trials
(bench.py) makes the first trial of each cell no different from the rest.
"""

import json
import os
import subprocess

# key, label, unit, fio arguments
WORKLOADS = [
    ("rr4k", "4K randread QD32", "IOPS",
     ["--rw=randread", "--bs=4k", "--iodepth=32"]),
    ("rw4k", "4K randwrite QD32", "IOPS",
     ["--rw=randwrite", "--bs=4k", "--iodepth=32"]),
    ("sr1m", "1M seqread QD8", "MB/s",
     ["--rw=read", "--bs=1m", "--iodepth=8"]),
    ("sw1m", "1M seqwrite QD8", "MB/s",
     ["--rw=write", "--bs=1m", "--iodepth=8"]),
    # Four jobs, each its own NBD connection, QD8 each: the same 32
    # requests in flight as the single-connection run, spread over four
    # server workers/threads.
    ("rr4k4c", "4K randread 4 conns", "IOPS",
     ["--rw=randread", "--bs=4k", "--iodepth=8", "--numjobs=4",
      "--group_reporting"]),
]


def as_user(home):
    """How fio runs over nbds:// (see tls.py): libnbd's default certificate
    directory is $HOME/.pki/libnbd for a user other than root, so fio runs
    as nobody with HOME at `home` when we are root."""
    prefix = ["env", "HOME=" + home]
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + prefix
    return prefix


def run(uri, args, runtime, outdir, tag, home=None):
    """One fio run; `home` (for nbds://) runs it through as_user(home)."""
    out = os.path.join(outdir, tag + ".json")
    cmd = ["fio", "--name=bench", "--ioengine=nbd", "--uri=" + uri,
           "--time_based", "--runtime=%d" % runtime,
           "--norandommap", "--randrepeat=0", "--output-format=json"] + args
    if home:
        cmd = as_user(home) + cmd
    # The JSON comes on stdout (an unprivileged fio could not write to
    # outdir), after the engine's "fio: connected to NBD server" line.
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=runtime + 60, cwd="/")
    text = p.stdout.decode()
    if p.returncode != 0 or "\n{" not in "\n" + text:
        raise RuntimeError("fio failed (%s): %s" % (" ".join(cmd),
                                                    (text + p.stderr.decode())[-2000:]))
    text = text[("\n" + text).index("\n{"):]
    with open(out, "w") as f:
        f.write(text)
    data = json.loads(text)
    requests = nbytes = 0
    secs = 0.0
    for job in data["jobs"]:
        if job["error"]:
            raise RuntimeError("fio job error %d in %s" % (job["error"], out))
        for d in ("read", "write"):
            requests += job[d]["total_ios"]
            nbytes += job[d]["io_bytes"]
            secs = max(secs, job[d]["runtime"] / 1000.0)
    if requests == 0 or secs == 0:
        raise RuntimeError("fio completed no requests: %s" % out)
    return {"requests": requests, "bytes": nbytes,
            "iops": requests / secs, "mbps": nbytes / secs / 1e6}
