#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Print one fio JSON result as "requests=N iops=X mbps=Y", the tail of a
CNBD-BENCH console line (tests/bench/kernel/guest.sh). Kept apart so the
guest needs no JSON parsing in shell."""

import json
import sys

with open(sys.argv[1]) as f:
    data = json.load(f)
requests = nbytes = 0
secs = 0.0
for job in data["jobs"]:
    if job["error"]:
        sys.exit("fio job error %d" % job["error"])
    for d in ("read", "write"):
        requests += job[d]["total_ios"]
        nbytes += job[d]["io_bytes"]
        secs = max(secs, job[d]["runtime"] / 1000.0)
if not requests or not secs:
    sys.exit("fio completed no requests")
print("requests=%d iops=%.1f mbps=%.1f" % (requests, requests / secs, nbytes / secs / 1e6))
