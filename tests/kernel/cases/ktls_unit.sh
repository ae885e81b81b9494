#!/bin/bash
# kernel-timeout: 120
# tests/unit/test_ktls in the guest, where the kernel has the tls module:
# the kernel TLS exchange (keys from a real GnuTLS session installed on a
# TCP socket, records both ways between the kernel and GnuTLS, TLS 1.3
# AES-GCM-128/256 and ChaCha20-Poly1305, TLS 1.2 AES-GCM-128/256), and
# nbd-serverd's connection I/O handed to kernel TLS (reads, writev,
# sendfile; close_notify, KeyUpdate, alert) must run here, not be skipped
# (CNBD_KTLS_REQUIRED=1).
. "$CNBD_KERNEL_LIB"

bin=$CNBD_BUILD/tests/unit/test_ktls
[[ -x $bin ]] || guest_fail "$bin not built (make check-kernel builds it)"
CNBD_KTLS_REQUIRED=1 "$bin" | tee "$CNBD_SCRATCH/out"
grep -q "kernel TLS CHACHA20-POLY1305: 3 x" "$CNBD_SCRATCH/out" || guest_fail "the kernel exchange did not run"
(( $(grep -c "^# kernel TLS .*: 3 x " "$CNBD_SCRATCH/out") == 5 )) || guest_fail "not every cipher went through the kernel"
(( $(grep -c "^# conn_io under kernel TLS, after " "$CNBD_SCRATCH/out") == 3 )) ||
    guest_fail "the server engine's connection under kernel TLS did not run"
lsmod | grep -w tls
log "ok"
