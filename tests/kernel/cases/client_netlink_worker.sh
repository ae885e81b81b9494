#!/bin/bash
# kernel-timeout: 400
# Only the worker of a mounted device's connection is killed (SIGKILL);
# the master stays up. The export is single use (max-connections = 1):
# the daemon's new connection must get the lease, which the master frees
# when it reaps the dead worker. The writer of checksummed records sees
# no error; one reconnect; fsck clean; every fsync'd record intact.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
file_export_conf "$CNBD_SCRATCH/disk.img" 256M 1
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M
ext4_attach --timeout 10 --dead-timeout 120

start_writer "$MNT/records"
wait_records 20
worker=$(server_workers)
[[ $worker =~ ^[0-9]+$ ]] || guest_fail "expected one worker, found '$worker'"
log "kill -KILL worker $worker (the master stays up)"
kill -KILL "$worker"
before=$(writer_progress)
wait_until 120 "the reconnect" eval '(( $(reconnected_count) > 0 ))'
wait_records $((before + 20)) 120
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the reconnect"; }
new=$(server_workers)
[[ $new =~ ^[0-9]+$ && $new != "$worker" ]] || guest_fail "workers after the reconnect: '$new'"
ext4_check 1
log "ok"
