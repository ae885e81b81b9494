#!/bin/bash
# kernel-timeout: 400
# The network path cut: nbd-serverd (master and workers) is stopped with
# SIGSTOP for 15 s, longer than the request timeout (5 s) and shorter
# than dead-timeout (120 s), then continued. The kernel gives the silent
# connection up when a request times out, holds the I/O, and the daemon
# connects anew once the server answers again. The writer sees no error;
# one reconnect; fsck clean; every fsync'd record intact.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
file_export_conf "$CNBD_SCRATCH/disk.img" 256M 1
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M
ext4_attach --timeout 5 --dead-timeout 120

start_writer "$MNT/records"
wait_records 20
kill_server STOP
on_exit "kill -CONT $CNBD_SERVER_PID $(server_workers) 2>/dev/null"
before=$(writer_progress)
wait_until 60 "the kernel to give the connection up" state_is nbd0 reconnecting
sleep 15
kill_server CONT
log "server continued; the writer had fsync'd record $before when it stopped"
wait_until 120 "the reconnect" eval '(( $(reconnected_count) > 0 ))'
wait_records $((before + 20)) 120
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the reconnect"; }
ext4_check 1
log "ok"
