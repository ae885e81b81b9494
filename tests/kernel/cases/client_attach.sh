#!/bin/bash
# nbd-clientd + nbdctl against nbd-serverd through the ioctl binding
# (chosen with --binding ioctl; netlink, the default, has its own cases):
# the daemon loads nbd.ko itself; attach, ext4 with checksummed data,
# detach, attach again and the data is intact; two connections on one
# device; a second connection refused when the server lacks
# CAN_MULTI_CONN.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

# The daemon must load the module, so start without it.
nbd_unload
lsmod | grep -q '^nbd ' && guest_fail "nbd is loaded before the daemon started"

img=$CNBD_SCRATCH/disk.img
truncate -s 256M "$img"
conf=$CNBD_SCRATCH/server.conf
cat > "$conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
[disk]
backend = file
path = $img
CONF
start_cnbd_server "$conf" 10809

on_exit nbd_unload
start_clientd
lsmod | grep -q '^nbd ' || guest_fail "nbd-clientd did not load nbd"
log "nbd-clientd loaded nbd: $(lsmod | grep '^nbd ')"

mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"
on_exit "umount $mnt 2>/dev/null"

dev=$(nbdctl attach nbd://127.0.0.1/disk --binding ioctl) || guest_fail "nbdctl attach failed"
[[ $dev == nbd0 ]] || guest_fail "attach printed '$dev', want nbd0 (the first free device)"
nbd_connected 0 || guest_fail "nbd0 is not connected after attach returned"
[[ $(blockdev --getsize64 /dev/nbd0) == $((256 << 20)) ]] || guest_fail "nbd0 has the wrong size"
nbdctl list | grep -E '^nbd0 +connected +ioctl +268435456 +1 +0 +off +nbd://127.0.0.1/disk$' \
    || { nbdctl list; guest_fail "nbdctl list does not show nbd0 connected"; }

load_modules ext4
mkfs.ext4 -q -F /dev/nbd0 || guest_fail "mkfs.ext4 failed"
mount /dev/nbd0 "$mnt" || guest_fail "mount failed"
head -c 16M /dev/urandom > "$mnt/a"
head -c 3M /dev/urandom > "$mnt/b"
sync
want=$(cd "$mnt" && sha256sum a b)
# Detaching a mounted device is refused unless forced.
out=$(nbdctl detach nbd0 2>&1) && guest_fail "detach of a mounted device was not refused"
grep -q 'in use' <<<"$out" || guest_fail "unclear refusal of detach: $out"
nbd_connected 0 || guest_fail "a refused detach disconnected nbd0"
umount "$mnt"
nbdctl detach nbd0 || guest_fail "nbdctl detach failed"
nbd_connected 0 && guest_fail "nbd0 still connected after detach"
nbdctl list | grep -q nbd0 && guest_fail "nbd0 still listed after detach"

dev=$(nbdctl attach nbd://127.0.0.1/disk --device nbd2 --binding ioctl) || guest_fail "second attach failed"
[[ $dev == nbd2 ]] || guest_fail "attach --device nbd2 printed '$dev'"
mount /dev/nbd2 "$mnt" || guest_fail "mount after reattach failed"
got=$(cd "$mnt" && sha256sum a b)
[[ $got == "$want" ]] || guest_fail "checksums after reattach: $got, want $want"
log "checksums match after detach and reattach"
umount "$mnt"
nbdctl detach nbd2 || guest_fail "detach nbd2 failed"

# Two connections on one device: two sockets to the server.
dev=$(nbdctl attach nbd://127.0.0.1/disk --connections 2 --binding ioctl) || guest_fail "attach with 2 connections failed"
conns=$(ss -Htn state established '( dport = :10809 )' | wc -l)
[[ $conns == 2 ]] || guest_fail "$conns connections to the server, want 2"
mount /dev/"$dev" "$mnt" || guest_fail "mount over two connections failed"
head -c 8M /dev/urandom > "$mnt/c"
sync
echo 3 > /proc/sys/vm/drop_caches
got=$(cd "$mnt" && sha256sum a b)
[[ $got == "$want" ]] || guest_fail "checksums over two connections differ"
umount "$mnt"
nbdctl detach "$dev" || guest_fail "detach failed"

# A server without CAN_MULTI_CONN: a second connection is refused clearly.
nbdkit -f -p 10810 -i 127.0.0.1 --filter=multi-conn memory 64M multi-conn-mode=disable \
    > /run/nbdkit-multi.log 2>&1 &
on_exit "kill $! 2>/dev/null"
wait_for_tcp 10810
out=$(nbdctl attach nbd://127.0.0.1:10810/ --connections 2 --binding ioctl 2>&1) \
    && guest_fail "attach with 2 connections to a server without CAN_MULTI_CONN succeeded"
grep -q CAN_MULTI_CONN <<<"$out" || guest_fail "unclear refusal: $out"
log "refused: $out"
