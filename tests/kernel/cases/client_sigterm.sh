#!/bin/bash
# SIGTERM: nbd-clientd flushes and disconnects every device it attached,
# and never touches one it did not. Debian's nbd-client holds nbd0 first;
# the daemon's [any] entry must pass it by and take nbd1. Data written
# through the page cache of /dev/nbd1 (no sync) reaches the server's file
# because the daemon flushes before it disconnects.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
truncate -s 64M "$CNBD_SCRATCH/theirs.img" "$CNBD_SCRATCH/ours.img"
start_peer_nbd_server theirs "$CNBD_SCRATCH/theirs.img" 10810
nbd-client -N theirs 127.0.0.1 10810 /dev/nbd0 || guest_fail "nbd-client could not attach nbd0"
on_exit 'nbd-client -d /dev/nbd0 >/dev/null 2>&1'
wait_until 10 "nbd0 to connect" nbd_connected 0
theirs_pid=$(cat /sys/block/nbd0/pid)

cat > "$CNBD_SCRATCH/server.conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
[ours]
backend = file
path = $CNBD_SCRATCH/ours.img
CONF
start_cnbd_server "$CNBD_SCRATCH/server.conf" 10809
cat > "$CNBD_SCRATCH/devices.conf" <<CONF
[any]
uri = nbd://127.0.0.1/ours
CONF
start_clientd -M -c "$CNBD_SCRATCH/devices.conf"
wait_until 30 "the [any] entry to be bound" nbd_connected 1
[[ $(cat /sys/block/nbd0/pid) == "$theirs_pid" ]] || guest_fail "nbd0 changed hands"
nbdctl list | grep -q '^nbd1 .*connected' || guest_fail "[any] did not take nbd1: $(nbdctl list)"

# Buffered writes, no sync: only the daemon's flush gets them out.
head -c 3M /dev/urandom > "$CNBD_SCRATCH/data"
dd if="$CNBD_SCRATCH/data" of=/dev/nbd1 bs=1M status=none || guest_fail "dd failed"
want=$(file_sha256 "$CNBD_SCRATCH/data")

log "SIGTERM to nbd-clientd"
kill -TERM "$CLIENTD_PID"
wait_until 60 "nbd-clientd to exit" eval '! kill -0 $CLIENTD_PID 2>/dev/null'
wait "$CLIENTD_PID" || guest_fail "nbd-clientd exited with status $? on SIGTERM"
CLIENTD_PID=
nbd_connected 1 && guest_fail "nbd1 is still connected after SIGTERM"
nbd_connected 0 || guest_fail "the daemon disconnected nbd0, which it never attached"
[[ $(cat /sys/block/nbd0/pid) == "$theirs_pid" ]] || guest_fail "nbd0 changed hands"
grep -q "nbd1: detached" "$CLIENTD_LOG" || guest_fail "no detach logged for nbd1"
grep -q "nbd0" "$CLIENTD_LOG" && guest_fail "the daemon's log mentions nbd0: $(grep nbd0 "$CLIENTD_LOG")"
got=$(head -c 3M "$CNBD_SCRATCH/ours.img" | sha256sum | cut -d' ' -f1)
[[ $got == "$want" ]] || guest_fail "buffered writes did not reach the server before the disconnect"
log "nbd1 flushed and detached; nbd0 untouched"
