#!/bin/bash
# kernel-timeout: 400
# What kernel TLS cannot follow, in the middle of a transfer: a test-only
# proxy (tests/kernel/tls_inject.c) terminates a kernel TLS device's TLS
# in front of a plaintext nbd-serverd and, once 4 MiB have gone to the
# client, sends a TLS 1.3 KeyUpdate on the first connection and a fatal
# alert on the second, then relays on as a correct peer would (under the
# new keys after the KeyUpdate; libnbd follows both, see docs). Linux
# 6.1's kernel TLS takes neither on the socket nbd.ko reads: the read
# fails with EIO ("Receive data failed (result -5)"), the connection
# is dead, and reconnect takes over (a fresh handshake, RECONFIGURE):
# two reconnects, the third connection passes, and 32 MiB of random data
# written and read back through the device match, with no I/O error.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

inject=$CNBD_BUILD/tests/tls-inject
[[ -x $inject ]] || guest_fail "$inject not built (make check-kernel builds it)"
nbd_load nbds_max=4
tls_keys
file_export_conf "$CNBD_SCRATCH/disk.img" 128M 4
start_cnbd_server "$SERVER_CONF" 10809
"$inject" 10900 10809 "$TLS/pki" keyupdate@4194304,alert@4194304 > "$CNBD_SCRATCH/inject.log" 2>&1 &
inject_pid=$!
on_exit "kill $inject_pid 2>/dev/null; echo '--- tls-inject log ---'; cat $CNBD_SCRATCH/inject.log"
wait_for_tcp 10900
start_clientd -M

dev=$(nbdctl attach "nbds://localhost:10900/disk?tls-certificates=$TLS/client" \
    --tls-mode kernel --timeout 10 --dead-timeout 120) || guest_fail "attach over TLS failed"
[[ $dev == nbd0 ]] || guest_fail "attached $dev"
tls_is nbd0 kernel
dmesg -C
head -c 32M /dev/urandom > "$CNBD_SCRATCH/data"
log "writing 32 MiB (the replies to writes are small: nothing is injected yet)"
dd if="$CNBD_SCRATCH/data" of=/dev/nbd0 bs=1M oflag=direct status=none || guest_fail "write failed"
(( $(reconnected_count) == 0 )) || guest_fail "a reconnect before any injection"
log "reading it back: a KeyUpdate, then an alert, on the way"
dd if=/dev/nbd0 of="$CNBD_SCRATCH/back" bs=1M count=32 iflag=direct status=none || guest_fail "read failed"
cmp "$CNBD_SCRATCH/data" "$CNBD_SCRATCH/back" || guest_fail "the data read back differs"
cat "$CNBD_SCRATCH/inject.log"
grep -q "connection 1: KeyUpdate after 4194304 bytes to the client: sent" "$CNBD_SCRATCH/inject.log" ||
    guest_fail "the proxy sent no KeyUpdate"
grep -q "connection 2: alert 'Internal error' after 4194304 bytes to the client: sent" \
    "$CNBD_SCRATCH/inject.log" || guest_fail "the proxy sent no alert"
wait_until 60 "the second reconnect" eval '(( $(reconnected_count) >= 2 ))'
(( $(reconnected_count) == 2 )) || guest_fail "$(reconnected_count) reconnects, want 2"
# "control" when the record came where a reply's header was due,
# "data" when it came inside a READ's payload.
dmesg | grep -E "nbd0: Receive (control|data) failed" || true
(( $(dmesg | grep -cE "nbd0: Receive (control|data) failed \(result -5\)") == 2 )) ||
    guest_fail "nbd.ko did not see two failed reads (EIO) on nbd0"
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected"; }
tls_is nbd0 kernel
no_io_errors nbd0
log "again on the third connection, which passes"
echo 3 > /proc/sys/vm/drop_caches
dd if=/dev/nbd0 of="$CNBD_SCRATCH/back" bs=1M count=32 iflag=direct status=none || guest_fail "read failed"
cmp "$CNBD_SCRATCH/data" "$CNBD_SCRATCH/back" || guest_fail "the data differs on the third connection"
nbdctl detach nbd0 || guest_fail "detach failed"
log "ok"
