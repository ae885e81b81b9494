#!/bin/bash
# Reconnect with the ioctl binding (chosen explicitly: netlink is the
# default), the documented behaviour. The server of an unmounted device is
# stopped: the daemon notices, and rebinds the device when the server
# returns; the data written before is read back intact. Then the same
# with the device mounted: the kernel keeps the dead configuration while
# the file system holds the device, so the daemon waits (saying why) and
# rebinds once it is unmounted -- what the netlink binding's dead-
# connection timeout does better (client_netlink_*).
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_unload
on_exit nbd_unload
truncate -s 128M "$CNBD_SCRATCH/disk.img"
conf=$CNBD_SCRATCH/server.conf
cat > "$conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
[disk]
backend = file
path = $CNBD_SCRATCH/disk.img
CONF
start_cnbd_server "$conf" 10809
start_clientd


dev=$(nbdctl attach nbd://127.0.0.1/disk --binding ioctl) || guest_fail "attach failed"
[[ $dev == nbd0 ]] || guest_fail "attached $dev"
head -c 4M /dev/urandom > "$CNBD_SCRATCH/data"
dd if="$CNBD_SCRATCH/data" of=/dev/nbd0 bs=1M oflag=direct status=none || guest_fail "dd to nbd0 failed"
want=$(file_sha256 "$CNBD_SCRATCH/data")

log "stopping the server of the unmounted nbd0"
stop_cnbd_server > /dev/null
wait_until 30 "nbd-clientd to notice the lost connection" state_is nbd0 reconnecting
[[ $(list_field nbd0 3) == ioctl ]] || guest_fail "binding $(list_field nbd0 3), want ioctl"
[[ $(list_field nbd0 6) == 1 ]] || guest_fail "reconnect count $(list_field nbd0 6), want 1"
nbdctl list
sleep 2
start_cnbd_server "$conf" 10809
wait_until 60 "nbd0 to be rebound" state_is nbd0 connected
nbd_connected 0 || guest_fail "listed connected, but the kernel does not serve nbd0"
got=$(dd if=/dev/nbd0 bs=1M count=4 iflag=direct status=none | sha256sum | cut -d' ' -f1)
[[ $got == "$want" ]] || guest_fail "data after the reconnect differs"
log "rebound after the server returned; data intact"
grep -q "nbd0: connection to nbd://127.0.0.1/disk lost" "$CLIENTD_LOG" || guest_fail "the loss is not logged"

# Mounted: no rebind while the file system holds the device.
load_modules ext4
mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"
on_exit "umount $mnt 2>/dev/null"
mkfs.ext4 -q -F /dev/nbd0 || guest_fail "mkfs failed"
mount /dev/nbd0 "$mnt" || guest_fail "mount failed"
head -c 2M /dev/urandom > "$mnt/file"
sync
want=$(file_sha256 "$mnt/file")
log "stopping the server of the mounted nbd0"
stop_cnbd_server > /dev/null
wait_until 30 "nbd-clientd to notice the lost connection" state_is nbd0 reconnecting
start_cnbd_server "$conf" 10809
nbdctl udev-add nbd0	# a kick: try now rather than after the backoff
wait_until 60 "the daemon to say why it waits" \
    eval 'nbdctl list | grep -q "still held open"'
state_is nbd0 reconnecting || guest_fail "rebound a device that is still mounted"
nbdctl list
umount "$mnt" 2>/dev/null || umount -l "$mnt"
nbdctl udev-add nbd0
wait_until 60 "nbd0 to be rebound after the unmount" state_is nbd0 connected
mount /dev/nbd0 "$mnt" || guest_fail "mount after the rebind failed"
got=$(file_sha256 "$mnt/file")
[[ $got == "$want" ]] || guest_fail "the synced file differs after the rebind"
[[ $(list_field nbd0 6) == 2 ]] || guest_fail "reconnect count $(list_field nbd0 6), want 2"
umount "$mnt"
nbdctl detach nbd0 || guest_fail "detach failed"
log "ok"
