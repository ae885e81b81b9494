#!/bin/bash
# kernel-timeout: 300
# Past dead-timeout with the server gone: the kernel fails I/O with EIO,
# and the daemon says so (state failed, a log line). When the server
# returns the daemon connects again by itself; detach and attach then
# work without a reboot, and what was written before is intact.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
file_export_conf "$CNBD_SCRATCH/disk.img" 64M 1
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M
dev=$(nbdctl attach nbd://127.0.0.1/disk --timeout 5 --dead-timeout 10) || guest_fail "attach failed"
[[ $dev == nbd0 ]] || guest_fail "attached $dev"
head -c 4M /dev/urandom > "$CNBD_SCRATCH/data"
dd if="$CNBD_SCRATCH/data" of=/dev/nbd0 bs=1M oflag=direct status=none || guest_fail "write failed"
want=$(file_sha256 "$CNBD_SCRATCH/data")

kill_server KILL
forget_server
wait_until 30 "the daemon to see the loss" state_is nbd0 reconnecting
# A read waits for a connection for dead-timeout, then fails.
t0=$(date +%s)
if out=$(dd if=/dev/nbd0 of=/dev/null bs=4k count=1 skip=100 iflag=direct 2>&1); then
    guest_fail "a read succeeded with the server gone"
fi
log "read failed after $(( $(date +%s) - t0 )) s: $out"
grep -q "Input/output error" <<<"$out" || guest_fail "not EIO: $out"
wait_until 30 "the daemon to report the device failed" state_is nbd0 failed
nbdctl list
grep -q "nbd0: no connection to nbd://127.0.0.1/disk for 10 s (dead-timeout)" "$CLIENTD_LOG" \
    || guest_fail "the failure is not logged"
# Once failed, I/O fails at once.
t0=$(date +%s)
dd if=/dev/nbd0 of=/dev/null bs=4k count=1 skip=200 iflag=direct status=none 2>/dev/null \
    && guest_fail "a second read succeeded"
(( $(date +%s) - t0 <= 3 )) || guest_fail "the second read waited"

start_cnbd_server "$SERVER_CONF" 10809
nbdctl udev-add nbd0	# try now, not after the backoff
wait_until 60 "the daemon to connect again" state_is nbd0 connected
grep "nbd0: connected again" "$CLIENTD_LOG" || guest_fail "the recovery is not logged"
got=$(dd if=/dev/nbd0 bs=1M count=4 iflag=direct status=none | sha256sum | cut -d' ' -f1) \
    || guest_fail "read after the recovery failed"
[[ $got == "$want" ]] || guest_fail "data differs after the recovery"
nbdctl detach nbd0 || guest_fail "detach failed"
dev=$(nbdctl attach nbd://127.0.0.1/disk) || guest_fail "attach after the failure failed"
[[ $dev == nbd0 ]] || guest_fail "attached $dev"
got=$(dd if=/dev/nbd0 bs=1M count=4 iflag=direct status=none | sha256sum | cut -d' ' -f1)
[[ $got == "$want" ]] || guest_fail "data differs after detach and attach"
nbdctl detach nbd0 || guest_fail "detach failed"
log "ok"
