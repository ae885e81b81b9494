# SPDX-License-Identifier: MIT
"""The ceiling for the 1 MiB workloads: single-stream TCP over loopback
with iperf3, measured in the same run as the servers, on the same noisy
cores, so the ratio to it means something today.

Measured twice: with iperf3's default 128 KiB writes, and with 1 MiB
writes (-l 1M), the size of the workloads' requests. On this machine the
second is much faster, fast enough that the default one would be a ceiling
some NBD servers go through; the report holds cnbd to the higher of the
two."""

import json
import subprocess
import time

from servers import free_port


def best_mbps(trials, secs=3, length=None):
    best = 0.0
    for _ in range(trials):
        port = free_port()
        # -1: serve one client, then exit; no process left behind.
        srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1",
                                "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            out = None
            for _ in range(50):  # the server needs a moment to listen
                p = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port),
                                    "-t", str(secs), "-J"]
                                   + (["-l", length] if length else []),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                # Until the server listens, the client fails, sometimes
                # with status 0 and an "error" in its JSON instead of a result.
                try:
                    out = json.loads(p.stdout)
                    bps = out["end"]["sum_received"]["bits_per_second"]
                    break
                except (ValueError, KeyError):
                    out = None
                time.sleep(0.1)
            if out is None:
                raise RuntimeError("iperf3 client failed: %s" % p.stdout.decode()[-500:])
            best = max(best, bps / 8 / 1e6)
        finally:
            try:
                srv.wait(5)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
    return best
