#!/bin/bash
# kernel-timeout: 1500
# The kernel-path benchmark, run by `make bench-kernel` (tests/bench/
# kernel/run.sh), which boots the test VM with cnbd.casedir pointing here,
# outside tests/kernel/cases: a benchmark is never counted as a test.
exec bash "$CNBD_REPO/tests/bench/kernel/guest.sh"
