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

ext4_attach --timeout 10 --dead-timeout 120
[[ $(cat /sys/block/nbd0/backend) == nbd://127.0.0.1/disk ]] \
    || guest_fail "backend is '$(cat /sys/block/nbd0/backend)'"

start_writer "$MNT/records"
wait_records 20
kill_server KILL
forget_server
before=$(writer_progress)
sleep 3
start_cnbd_server "$SERVER_CONF" 10809
log "server back; the writer had fsync'd record $before when it died"
wait_until 120 "the reconnect" eval '(( $(reconnected_count) > 0 ))'
wait_records $((before + 20)) 120
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the reconnect"; }
ext4_check 1
log "ok"
