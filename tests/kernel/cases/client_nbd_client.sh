#!/bin/bash
# Debian's nbd-client attaches nbd-serverd's exports (one connection and
# two), and ext4 keeps checksummed data across a detach and a reattach.
. "$CNBD_KERNEL_LIB"

nbd_load nbds_max=4
load_modules ext4
truncate -s 256M "$CNBD_SCRATCH/disk.img"
cat > "$CNBD_SCRATCH/server.conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
[disk]
backend = file
path = $CNBD_SCRATCH/disk.img
CONF
start_cnbd_server "$CNBD_SCRATCH/server.conf" 10809

mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"
on_exit "umount $mnt 2>/dev/null; nbd-client -d /dev/nbd0 >/dev/null 2>&1"

nbd-client -N disk 127.0.0.1 10809 /dev/nbd0 || guest_fail "nbd-client could not attach"
wait_until 10 "nbd0 to connect" nbd_connected 0
[[ $(blockdev --getsize64 /dev/nbd0) == $((256 << 20)) ]] || guest_fail "wrong size"
mkfs.ext4 -q -F /dev/nbd0 || guest_fail "mkfs failed"
mount /dev/nbd0 "$mnt" || guest_fail "mount failed"
head -c 24M /dev/urandom > "$mnt/data"
sync
want=$(file_sha256 "$mnt/data")
umount "$mnt"
nbd-client -d /dev/nbd0 || guest_fail "nbd-client -d failed"
wait_until 10 "nbd0 to disconnect" eval '! nbd_connected 0'

# Again over two connections (nbd-serverd advertises CAN_MULTI_CONN).
nbd-client -N disk -C 2 127.0.0.1 10809 /dev/nbd0 || guest_fail "nbd-client -C 2 could not attach"
wait_until 10 "nbd0 to connect" nbd_connected 0
conns=$(ss -Htn state established '( dport = :10809 )' | wc -l)
[[ $conns == 2 ]] || guest_fail "$conns connections, want 2"
mount /dev/nbd0 "$mnt" || guest_fail "mount after reattach failed"
[[ $(file_sha256 "$mnt/data") == "$want" ]] || guest_fail "checksum after reattach differs"
head -c 8M /dev/urandom > "$mnt/more"
sync
more=$(file_sha256 "$mnt/more")
umount "$mnt"
mount /dev/nbd0 "$mnt"
[[ $(file_sha256 "$mnt/more") == "$more" ]] || guest_fail "data written over two connections differs"
umount "$mnt"
nbd-client -d /dev/nbd0 || guest_fail "nbd-client -d failed"
log "ok"
