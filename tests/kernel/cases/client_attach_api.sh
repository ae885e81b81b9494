#!/bin/bash
# kernel-timeout: 300
# The attach API where nbd-clientd does not take it (tests/lib/
# attach_api_tool.c): sockets the program negotiated itself, bound with
# cnbd_attach_sockets(); when the server's worker is killed, the lost
# connection is replaced through the program's reconnect callback while
# the kernel holds I/O, the events say lost then reconnected, and the
# data written before reads back after. Then give_up_s: with the server
# gone for good the attachment gives up after that long, says so, and
# the device is disconnected.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

tool=$CNBD_BUILD/tests/attach-api
[[ -x $tool ]] || guest_fail "$tool is not built"
nbd_load nbds_max=2
img=$CNBD_SCRATCH/disk.img
file_export_conf "$img" 64M 0
start_cnbd_server "$SERVER_CONF" 10809
out=$CNBD_SCRATCH/tool.out

# --- sockets and the reconnect callback ---
mkfifo "$CNBD_SCRATCH/ctl"
"$tool" sockets nbd://127.0.0.1/disk nbd1 < "$CNBD_SCRATCH/ctl" > "$out" 2>&1 &
tool_pid=$!
exec 3> "$CNBD_SCRATCH/ctl"
on_exit "exec 3>&-; kill $tool_pid 2>/dev/null; wait $tool_pid 2>/dev/null"
wait_until 60 "the attach" grep -q "^attached nbd1 netlink" "$out"
grep -qx "event bound" "$out" || guest_fail "no bound event: $(cat "$out")"
nbd_connected 1 || guest_fail "nbd1 is not connected"
head -c 4M /dev/urandom > "$CNBD_SCRATCH/data"
dd if="$CNBD_SCRATCH/data" of=/dev/nbd1 bs=1M oflag=direct status=none || guest_fail "write failed"
workers=$(server_workers)
[[ -n $workers ]] || guest_fail "no worker serves nbd1"
log "killing worker(s) $workers"
kill -KILL $workers
wait_until 60 "the reconnect" grep -qx "event reconnected" "$out"
cat "$out"
grep -qx "event lost" "$out" || guest_fail "no lost event before reconnected"
grep -qx "reconnect 1" "$out" || guest_fail "the reconnect callback was not used"
dd if=/dev/nbd1 of="$CNBD_SCRATCH/back" bs=1M count=4 iflag=direct status=none ||
    guest_fail "read after the reconnect failed"
cmp "$CNBD_SCRATCH/back" "$CNBD_SCRATCH/data" || guest_fail "data differs after the reconnect"
exec 3>&-
wait "$tool_pid" || guest_fail "the tool failed: $(cat "$out")"
grep -qx "detached" "$out" || guest_fail "no detach: $(cat "$out")"
grep -qx "event stopped" "$out" || guest_fail "no stopped event: $(cat "$out")"
nbd_connected 1 && guest_fail "nbd1 is still connected after the detach"

# --- give_up_s ---
"$tool" give-up nbd://127.0.0.1/disk nbd1 4 > "$out" 2>&1 &
tool_pid=$!
wait_until 60 "the attach" grep -q "^attached nbd1" "$out"
stop_cnbd_server > /dev/null
wait_until 60 "the attachment to give up" grep -q "^stopped:" "$out"
wait "$tool_pid" || guest_fail "the tool failed: $(cat "$out")"
cat "$out"
grep -qx "stopped: gave up after 4 s without a connection (give_up_s)" "$out" ||
    guest_fail "no reason for giving up"
grep -qx "event unbound" "$out" || guest_fail "no unbound event"
nbd_connected 1 && guest_fail "nbd1 is still connected after giving up"
log "ok"
