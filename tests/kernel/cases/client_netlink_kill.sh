#!/bin/bash
# kernel-timeout: 400
# The netlink binding keeps a mounted ext4 alive while the server dies:
# nbd-serverd (master and workers) is killed with SIGKILL under a writer
# that appends and fsyncs checksummed records, and started again 3 s
# later. The writer sees no error, the daemon logs one reconnect, the
# kernel logs no I/O error, and after unmount and fsck every fsync'd
# record is there and right. The export is single use: the reconnecting
# client must get the lease of its own dead connection.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
file_export_conf "$CNBD_SCRATCH/disk.img" 256M 1
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M

dev=$(nbdctl attach nbd://127.0.0.1/disk --timeout 10 --dead-timeout 120) \
    || guest_fail "attach failed"
[[ $dev == nbd0 ]] || guest_fail "attached $dev"
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected"; }
[[ $(list_field nbd0 3) == netlink ]] || { nbdctl list; guest_fail "not the netlink binding by default"; }
[[ $(cat /sys/block/nbd0/backend) == nbd://127.0.0.1/disk ]] \
    || guest_fail "backend is '$(cat /sys/block/nbd0/backend)'"

load_modules ext4
mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"
mkfs.ext4 -q -F /dev/nbd0 || guest_fail "mkfs failed"
mount /dev/nbd0 "$mnt" || guest_fail "mount failed"
on_exit "umount $mnt 2>/dev/null"
dmesg -C

start_writer "$mnt/records"
wait_records 20
kill_server KILL
forget_server
before=$(writer_progress)
sleep 3
start_cnbd_server "$SERVER_CONF" 10809
log "server back; the writer had fsync'd record $before when it died"
wait_until 120 "the reconnect" eval 'grep -q "nbd0: reconnected" "$CLIENTD_LOG"'
wait_records $((before + 20)) 120
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the reconnect"; }
stop_writer
nbdctl list
[[ $(grep -c "nbd0: reconnected" "$CLIENTD_LOG") == 1 ]] || guest_fail "not exactly one reconnect logged"
grep "nbd0: reconnected" "$CLIENTD_LOG"
[[ $(list_field nbd0 6) == 1 ]] || guest_fail "reconnect count $(list_field nbd0 6), want 1"

umount "$mnt"
no_io_errors nbd0
dmesg | grep -i nbd0 || true
fsck.ext4 -fn /dev/nbd0 || guest_fail "fsck found errors"
mount -o ro /dev/nbd0 "$mnt" || guest_fail "mount for the check failed"
verify_records
umount "$mnt"
nbdctl detach nbd0 || guest_fail "detach failed"
nbd_connected 0 && guest_fail "nbd0 still connected after detach"
log "ok"
