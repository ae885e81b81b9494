#!/bin/bash
# kernel-timeout: 500
# A daemon that dies is not a disk that dies. nbd-clientd binds nbd0 from
# its devices file (netlink) under ext4 and a writer that appends and
# fsyncs checksummed records, and is then killed with SIGKILL:
#   1. the device goes on serving with no daemon; a new daemon, given the
#      same devices file, takes nbd0 over (one log line, nbdctl list shows
#      it connected) instead of failing to bind it;
#   2. the server is then killed and restarted: the new daemon reconnects
#      (it learns of the death from LINK_DEAD, having no descriptor of the
#      old socket);
#   3. the daemon is killed again, and the server killed and restarted
#      while no daemon runs: the next daemon finds the connection that died
#      unseen and replaces it.
# Throughout, the writer sees no error and the kernel logs no I/O error;
# after unmount, fsck is clean and every fsync'd record is there.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
file_export_conf "$CNBD_SCRATCH/disk.img" 256M 1
start_cnbd_server "$SERVER_CONF" 10809
DEVICES=$CNBD_SCRATCH/devices.conf
cat > "$DEVICES" <<CONF
[nbd0]
uri = nbd://127.0.0.1/disk
timeout = 10
dead-timeout = 120
CONF
RECORD=/run/cnbd/devices/nbd0

start_clientd -M -c "$DEVICES"
wait_until 60 "nbd0 attached from the devices file" state_is nbd0 connected
[[ -f $RECORD ]] || guest_fail "no record of nbd0 in $RECORD"
ext4_mount
start_writer "$MNT/records"
wait_records 20

# kill_clientd: SIGKILL, as a crash would; the device stays attached.
kill_clientd() {
    log "kill -KILL nbd-clientd $CLIENTD_PID"
    kill -KILL "$CLIENTD_PID"
    wait "$CLIENTD_PID" 2>/dev/null || true
    CLIENTD_PID=
    nbd_connected 0 || guest_fail "nbd0 went with the daemon"
    [[ -f $RECORD ]] || guest_fail "the record of nbd0 went with the daemon"
}
taken_over_count() {
    grep -c "nbd0: taken over from an earlier run" "$CLIENTD_LOG" || true
}

log "--- 1: the daemon dies; the device goes on; a new daemon takes it over"
kill_clientd
before=$(writer_progress)
wait_records $((before + 20))
start_clientd -M -c "$DEVICES"
wait_until 30 "the take-over" eval '(( $(taken_over_count) == 1 ))'
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the take-over"; }
[[ $(list_field nbd0 8) == nbd://127.0.0.1/disk ]] || { nbdctl list; guest_fail "wrong URI listed"; }
grep "\[nbd0\]" "$CLIENTD_LOG" && guest_fail "the devices file's [nbd0] was bound a second time"

log "--- 2: the server dies under the new daemon, which reconnects"
kill_server KILL
forget_server
before=$(writer_progress)
sleep 3
start_cnbd_server "$SERVER_CONF" 10809
wait_until 120 "the reconnect" eval '(( $(reconnected_count) == 1 ))'
wait_records $((before + 20)) 120
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the reconnect"; }

log "--- 3: the server dies while no daemon runs; the next daemon repairs it"
kill_clientd
kill_server KILL
forget_server
before=$(writer_progress)
sleep 3
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M -c "$DEVICES"
wait_until 60 "the second take-over" eval '(( $(taken_over_count) == 2 ))'
wait_until 60 "the unseen death repaired" \
    grep -q "nbd0: a connection to nbd://127.0.0.1/disk had died while no daemon ran; replaced" "$CLIENTD_LOG"
wait_records $((before + 20)) 120

stop_writer
nbdctl list
umount "$MNT"
no_io_errors nbd0
fsck.ext4 -fn /dev/nbd0 || guest_fail "fsck found errors"
mount -o ro /dev/nbd0 "$MNT" || guest_fail "mount for the check failed"
verify_records
umount "$MNT"
stop_clientd
nbd_connected 0 && guest_fail "nbd0 still connected after SIGTERM to the daemon"
[[ -e $RECORD ]] && guest_fail "the record of nbd0 outlived its detach"
log "ok"
