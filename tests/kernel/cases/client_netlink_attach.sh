#!/bin/bash
# kernel-timeout: 300
# What the netlink binding adds to attaching: the kernel makes a device
# when every one is taken (nbds_max=2, a third attach gets nbd2); the URI
# is the backend identifier, which names the udev link even without the
# daemon; --readonly makes a read-only device; a server that comes back
# with another export size is refused, saying so, and taken again once
# the size is right; detach leaves a made device in place.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=2
img=$CNBD_SCRATCH/disk.img
file_export_conf "$img" 64M 0
truncate -s 32M "$CNBD_SCRATCH/other.img"
cat >> "$SERVER_CONF" <<CONF
[other]
backend = file
path = $CNBD_SCRATCH/other.img
CONF
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M

for want in nbd0 nbd1 nbd2; do
    dev=$(nbdctl attach nbd://127.0.0.1/other --readonly) || guest_fail "attach for $want failed"
    [[ $dev == "$want" ]] || guest_fail "attached $dev, want $want"
done
nbdctl list
[[ -e /sys/block/nbd2 ]] || guest_fail "the kernel made no nbd2"
[[ $(blockdev --getro /dev/nbd2) == 1 ]] || guest_fail "nbd2 is not read-only"
dd if=/dev/zero of=/dev/nbd2 bs=4k count=1 oflag=direct status=none 2>/dev/null \
    && guest_fail "wrote to a read-only device"
[[ $(cat /sys/block/nbd2/backend) == nbd://127.0.0.1/other ]] || guest_fail "backend of nbd2"
[[ $("$CNBD_BUILD/nbdctl" udev-name nbd2) == other ]] || guest_fail "udev-name from the daemon"
[[ $("$CNBD_BUILD/nbdctl" --socket /run/none.sock udev-name nbd2 2>/dev/null) == other ]] \
    || guest_fail "udev-name from the backend identifier"
for d in nbd0 nbd1 nbd2; do
    nbdctl detach $d || guest_fail "detach $d failed"
done
[[ -e /sys/block/nbd2 ]] || guest_fail "nbd2 went away on detach"

# The export's size changes while the daemon reconnects: refused.
dev=$(nbdctl attach nbd://127.0.0.1/disk --device nbd1 --timeout 5) || guest_fail "attach failed"
head -c 2M /dev/urandom > "$CNBD_SCRATCH/data"
dd if="$CNBD_SCRATCH/data" of=/dev/nbd1 bs=1M oflag=direct status=none || guest_fail "write failed"
kill_server KILL
forget_server
truncate -s 128M "$img"
start_cnbd_server "$SERVER_CONF" 10809
wait_until 60 "the daemon to refuse the new size" \
    eval 'nbdctl list | grep -q "size changed from 67108864 to 134217728"'
grep -q "nbd1: the export's size changed from 67108864 to 134217728 bytes: not reconnecting" \
    "$CLIENTD_LOG" || guest_fail "the refusal is not logged"
state_is nbd1 reconnecting || guest_fail "state $(list_field nbd1 2)"
stop_cnbd_server > /dev/null
truncate -s 64M "$img"
start_cnbd_server "$SERVER_CONF" 10809
nbdctl udev-add nbd1
wait_until 60 "the reconnect" state_is nbd1 connected
dd if=/dev/nbd1 of="$CNBD_SCRATCH/back" bs=1M count=2 iflag=direct status=none \
    || guest_fail "read after the reconnect failed"
cmp "$CNBD_SCRATCH/back" "$CNBD_SCRATCH/data" || guest_fail "data differs after the reconnect"
nbdctl detach nbd1 || guest_fail "detach failed"
log "ok"
