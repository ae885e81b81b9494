#!/bin/bash
# The kernel NBD path works in the VM, proven with Debian's peers only
# (nbd-server + nbd-client), before any cnbd binary is involved:
# nbd.ko loads with our parameters, and an ext4 file system on /dev/nbd0
# keeps a checksummed file across a disconnect and a reattach.
. "$CNBD_KERNEL_LIB"

nbd_load nbds_max=4
[[ -e /sys/block/nbd0 ]] || guest_fail "/sys/block/nbd0 missing after modprobe"
[[ -e /sys/block/nbd3 && ! -e /sys/block/nbd4 ]] \
    || guest_fail "nbds_max=4 not honoured: $(ls -d /sys/block/nbd* | tr '\n' ' ')"
lsmod | grep -q '^nbd ' || guest_fail "lsmod does not list nbd"
load_modules ext4

img=$CNBD_SCRATCH/disk.img
truncate -s 256M "$img"
start_peer_nbd_server smoke "$img"

attach() {
    log "nbd-client -N smoke 127.0.0.1 /dev/nbd0"
    nbd-client -N smoke 127.0.0.1 /dev/nbd0 || guest_fail "nbd-client could not attach"
    wait_until 10 "nbd0 to connect" nbd_connected 0
    log "attached"
    local size
    size=$(blockdev --getsize64 /dev/nbd0)
    [[ $size == $((256 << 20)) ]] || guest_fail "/dev/nbd0 is $size bytes, want 256 MiB"
}

detach() {
    log "nbd-client -d /dev/nbd0"
    nbd-client -d /dev/nbd0 || guest_fail "nbd-client -d failed"
    wait_until 10 "nbd0 to disconnect" eval '! nbd_connected 0'
}

mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"

attach
on_exit 'umount '"$mnt"' 2>/dev/null; nbd-client -d /dev/nbd0 >/dev/null 2>&1'
log "mkfs.ext4"
mkfs.ext4 -q -F /dev/nbd0 || guest_fail "mkfs.ext4 on /dev/nbd0 failed"
mount /dev/nbd0 "$mnt" || guest_fail "mounting /dev/nbd0 failed"
log "writing 32 MiB of random data"
head -c 32M /dev/urandom > "$mnt/data"
sync
want=$(file_sha256 "$mnt/data")
umount "$mnt"
detach

attach
mount /dev/nbd0 "$mnt" || guest_fail "mounting /dev/nbd0 after reattach failed"
got=$(file_sha256 "$mnt/data")
[[ $got == "$want" ]] || guest_fail "checksum after reattach: $got, want $want"
log "checksum matches after reattach: $got"
umount "$mnt"
detach
