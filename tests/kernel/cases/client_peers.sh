#!/bin/bash
# nbd-clientd attaches exports served by nbdkit (memory), nbd-server and
# qemu-nbd -- all at once, from one devices file with [any-NAME] entries --
# and ext4 with checksummed files works on each, across a detach and a
# second attach.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_unload
on_exit nbd_unload
load_modules ext4

nbdkit -f -i 127.0.0.1 -p 10811 memory 256M > /run/nbdkit.log 2>&1 &
nbdkit_pid=$!
on_exit "kill $nbdkit_pid 2>/dev/null; wait $nbdkit_pid 2>/dev/null"
truncate -s 256M "$CNBD_SCRATCH/nbd-server.img" "$CNBD_SCRATCH/qemu.img"
start_peer_nbd_server disk "$CNBD_SCRATCH/nbd-server.img" 10812
qemu-nbd -f raw -b 127.0.0.1 -p 10813 -x vm --persistent "$CNBD_SCRATCH/qemu.img" \
    > /run/qemu-nbd.log 2>&1 &
qemu_pid=$!
on_exit "kill $qemu_pid 2>/dev/null; wait $qemu_pid 2>/dev/null"
wait_for_tcp 10811
wait_for_tcp 10813

cat > "$CNBD_SCRATCH/devices.conf" <<CONF
[any-nbdkit]
uri = nbd://127.0.0.1:10811/
[any-nbd-server]
uri = nbd://127.0.0.1:10812/disk
connections = 1
[any-qemu]
uri = nbd://127.0.0.1:10813/vm
timeout = 60
CONF
start_clientd -c "$CNBD_SCRATCH/devices.conf"

device_of() {	# the device nbd-clientd bound URI to
    nbdctl list | awk -v u="$1" '$8 == u && $2 == "connected" { print $1 }'
}
bound() { [[ -n $(device_of "$1") ]]; }

mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"
on_exit "umount $mnt 2>/dev/null"
for uri in nbd://127.0.0.1:10811/ nbd://127.0.0.1:10812/disk nbd://127.0.0.1:10813/vm; do
    wait_until 60 "$uri to be bound" bound "$uri"
done
nbdctl list
[[ $(nbdctl list | awk '$2 == "connected"' | wc -l) == 3 ]] || guest_fail "not three devices"

for uri in nbd://127.0.0.1:10811/ nbd://127.0.0.1:10812/disk nbd://127.0.0.1:10813/vm; do
    dev=$(device_of "$uri")
    [[ $(blockdev --getsize64 "/dev/$dev") == $((256 << 20)) ]] || guest_fail "$uri: wrong size on $dev"
    log "$uri on $dev: mkfs.ext4, write, check"
    mkfs.ext4 -q -F "/dev/$dev" || guest_fail "$uri: mkfs failed"
    mount "/dev/$dev" "$mnt" || guest_fail "$uri: mount failed"
    head -c 12M /dev/urandom > "$mnt/data"
    cp "$mnt/data" "$mnt/copy"
    sync
    want=$(file_sha256 "$mnt/data")
    umount "$mnt"
    nbdctl detach "$dev" || guest_fail "$uri: detach failed"
    dev=$(nbdctl attach "$uri") || guest_fail "$uri: attach again failed"
    mount "/dev/$dev" "$mnt" || guest_fail "$uri: mount after reattach failed"
    [[ $(file_sha256 "$mnt/data") == "$want" && $(file_sha256 "$mnt/copy") == "$want" ]] ||
        guest_fail "$uri: checksums differ after reattach"
    umount "$mnt"
    log "$uri: ok"
done
