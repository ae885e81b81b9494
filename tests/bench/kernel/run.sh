#!/bin/bash
# make bench-kernel: boot the kernel test VM with only the bench case
# (tests/bench/kernel/cases/bench_kernel.sh -> guest.sh),
# collect its CNBD-BENCH console lines, and append the kernel-path table to
# results.md (after make bench's userspace table, if there is one).
#
# Usage: run.sh BUILD_DIR OUT_DIR
# Environment:
#   BENCH_KERNEL_RUNTIME  seconds per fio run in the guest (default 5)
#   BENCH_KERNEL_TRIALS   runs per cell, best kept (default 3)
#   BENCH_KERNEL_STACKS   comma-separated substrings of stack names to keep
#                         (default all; see guest.sh)
#   BENCH_KERNEL_WORKLOADS  comma-separated workload keys: rr4k,rw4k,sr1m (default all)
#   BENCH_KERNEL_CPU      qemu -cpu model (default max: AES-NI and CLMUL are
#                         emulated, as the machines TLS runs on have them; "" for
#                         qemu's own qemu64, without them)
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR OUT_DIR}
out=${2:?usage: run.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
runtime=${BENCH_KERNEL_RUNTIME:-5}
trials=${BENCH_KERNEL_TRIALS:-3}
stacks=${BENCH_KERNEL_STACKS:-}
only=${BENCH_KERNEL_WORKLOADS:-}
mkdir -p "$out"
console=$out/kernel-console.txt

# The harness's own knobs: cases from our directory instead of the tests'
# (cnbd.casedir, so the bench never counts as a test), only the bench case,
# and its output printed even when it passes (that is where the numbers are).
set +e
CNBD_KERNEL_CASES=bench_kernel CNBD_KERNEL_VERBOSE=1 CNBD_BUILD_DIR=$build \
CNBD_KERNEL_CPU=${BENCH_KERNEL_CPU-max} \
CNBD_KERNEL_APPEND="cnbd.casedir=tests/bench/kernel/cases cnbd.bench_runtime=$runtime cnbd.bench_trials=$trials${stacks:+ cnbd.bench_stacks=$stacks}${only:+ cnbd.bench_workloads=$only}" \
    "$repo/tests/kernel/run-vm.sh" > "$console" 2>&1
rc=$?
set -e
grep -E 'CNBD-BENCH|^run-vm|FAIL' "$console" >&2 || true

section=$(/usr/bin/python3 "$here/report.py" "$console" "$rc")
results=$out/results.md
[[ -s $results ]] || echo "# cnbd benchmark (kernel path only; run make bench for the rest)" > "$results"
# The kernel section is always the last one: a second run replaces it.
sed -i '/^## Kernel path/,$d' "$results"
printf '\n%s\n' "$section" >> "$results"
echo "$section"
echo "bench-kernel: appended to $out/results.md; console in $console" >&2
exit "$rc"
