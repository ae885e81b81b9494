#!/bin/bash
# kernel-timeout: 300
# A daemon that dies with TLS devices: nbd0 uses kernel TLS, nbd1 the
# daemon's relay (both from the devices file, nbd-serverd tls = require).
# nbd-clientd is SIGKILLed under a writer on nbd0's ext4:
#   - nbd0 goes on serving with no daemon (the kernel holds the socket and
#     its keys); the writer sees no error;
#   - nbd1's relay died with the daemon: its connection is dead and the
#     kernel holds its I/O; a read waits;
#   - a new daemon takes both over; its probe replaces nbd1's dead
#     connection (with a new relay) and the waiting read completes.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

nbd_load nbds_max=4
tls_keys
tls_export_conf "$CNBD_SCRATCH/disk.img" 128M x509 10809
truncate -s 16M "$CNBD_SCRATCH/disk2.img"
head -c 1M /dev/urandom > "$CNBD_SCRATCH/head"
dd if="$CNBD_SCRATCH/head" of="$CNBD_SCRATCH/disk2.img" conv=notrunc status=none
printf '[disk2]\nbackend = file\npath = %s\nmax-connections = 2\n' "$CNBD_SCRATCH/disk2.img" >> "$SERVER_CONF"
start_cnbd_server "$SERVER_CONF" 10809
DEVICES=$CNBD_SCRATCH/devices.conf
cat > "$DEVICES" <<CONF
[nbd0]
uri = nbds://localhost/disk?tls-certificates=$TLS/client
tls-mode = kernel
timeout = 10
[nbd1]
uri = nbds://localhost/disk2?tls-certificates=$TLS/client
tls-mode = relay
timeout = 10
CONF
start_clientd -M -c "$DEVICES"
wait_until 60 "nbd0 and nbd1 attached" eval 'state_is nbd0 connected && state_is nbd1 connected'
tls_is nbd0 kernel
tls_is nbd1 relay
ext4_mount
start_writer "$MNT/records"
wait_records 20

log "kill -KILL nbd-clientd $CLIENTD_PID"
kill -KILL "$CLIENTD_PID"
wait "$CLIENTD_PID" 2>/dev/null || true
CLIENTD_PID=
killed_at=$SECONDS
before=$(writer_progress)
wait_records $((before + 20))
nbd_connected 0 || guest_fail "nbd0 went with the daemon"
log "nbd0 served $(( $(writer_progress) - before )) records with no daemon (kernel TLS)"
# nbd1: its relay is gone; a read is held by the kernel until a new
# connection comes.
dd if=/dev/nbd1 of="$CNBD_SCRATCH/back" bs=1M count=1 iflag=direct status=none &
reader=$!
sleep 2
kill -0 "$reader" 2>/dev/null || guest_fail "a read on nbd1 finished without its relay"
start_clientd -M -c "$DEVICES"
wait_until 60 "both taken over" \
    eval '(( $(grep -c "taken over from an earlier run" "$CLIENTD_LOG") == 2 ))'
wait_until 60 "nbd1's dead connection replaced" \
    grep -q "nbd1: a connection to .* had died while no daemon ran; replaced" "$CLIENTD_LOG"
wait "$reader" || guest_fail "the held read on nbd1 failed"
cmp "$CNBD_SCRATCH/back" "$CNBD_SCRATCH/head" || guest_fail "nbd1 read back wrong data"
log "nbd1 served again $((SECONDS - killed_at)) s after the daemon was killed"
grep "nbd1: a connection" "$CLIENTD_LOG"
tls_is nbd0 kernel
tls_is nbd1 relay
grep -q "nbd0: a connection .* had died" "$CLIENTD_LOG" && guest_fail "nbd0's kernel TLS connection was replaced"
stop_writer
umount "$MNT"
no_io_errors nbd0
fsck.ext4 -fn /dev/nbd0 || guest_fail "fsck found errors"
mount -o ro /dev/nbd0 "$MNT" || guest_fail "mount for the check failed"
verify_records
umount "$MNT"
nbdctl detach nbd0 || guest_fail "detach nbd0 failed"
nbdctl detach nbd1 || guest_fail "detach nbd1 failed"
log "ok"
