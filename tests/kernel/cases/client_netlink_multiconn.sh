#!/bin/bash
# kernel-timeout: 400
# Two connections on one device, one of them lost: its worker is killed
# while the master is stopped (SIGSTOP), so the daemon cannot replace it
# for a while. The writer goes on over the other connection meanwhile;
# once the master continues the lost connection alone is replaced. One
# reconnect; fsck clean; every fsync'd record intact.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
file_export_conf "$CNBD_SCRATCH/disk.img" 256M 2
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M
ext4_attach --connections 2 --timeout 5 --dead-timeout 120
conns() { ss -Htn state established '( dport = :10809 )' | wc -l; }
[[ $(conns) == 2 ]] || guest_fail "$(conns) connections, want 2"

start_writer "$MNT/records"
wait_records 20
workers=($(server_workers))
(( ${#workers[@]} == 2 )) || guest_fail "expected two workers, found ${workers[*]}"
log "kill -STOP master $CNBD_SERVER_PID, kill -KILL worker ${workers[0]}"
kill -STOP "$CNBD_SERVER_PID"
on_exit "kill -CONT $CNBD_SERVER_PID 2>/dev/null"
kill -KILL "${workers[0]}"
wait_until 60 "the daemon to see the loss" state_is nbd0 reconnecting
before=$(writer_progress)
wait_records $((before + 30)) 120
state_is nbd0 reconnecting || guest_fail "replaced while the master was stopped?"
(( $(reconnected_count) == 0 )) || guest_fail "a reconnect while the master was stopped"
log "the writer went from record $before to $(writer_progress) on the remaining connection"
kill -CONT "$CNBD_SERVER_PID"
wait_until 120 "the reconnect" eval '(( $(reconnected_count) > 0 ))'
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the reconnect"; }
wait_until 30 "two connections again" eval '[[ $(conns) == 2 ]]'
wait_records $(( $(writer_progress) + 10 )) 120
ext4_check 1
log "ok"
