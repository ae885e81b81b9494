#!/bin/bash
# kernel-timeout: 600
# ext4 from a cow export over a read-only base image, through the kernel.
# A golden image (ext4 with checksummed files, mode 0444) is served by
# nbd-serverd as a persistent cow overlay and as per-connection ones.
# nbd-clientd attaches the persistent one over two connections (the
# overlay is CAN_MULTI_CONN): the files read right, new and changed files
# survive detach and reattach, e2fsck finds the file system clean. Debian's
# nbd-client attaches the per-connection one: its writes are gone after
# a reattach. The base's sha256 never changes, until nbdctl server commit
# writes the overlay into it: then the base image itself (read with
# debugfs, no mount) holds the new file.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_load nbds_max=4
load_modules ext4
chmod 755 "$CNBD_SCRATCH"

src=$CNBD_SCRATCH/src
base=$CNBD_SCRATCH/golden.img
mkdir -p "$src/etc"
head -c 8M /dev/urandom > "$src/blob"
echo "golden" > "$src/etc/motd"
log "making the golden image (mkfs.ext4 -d)"
mkfs.ext4 -q -F -b 4096 -d "$src" "$base" 128M || guest_fail "mkfs.ext4 -d failed"
chmod 0444 "$base"
base_sum=$(file_sha256 "$base")
want_blob=$(file_sha256 "$src/blob")

conf=$CNBD_SCRATCH/server.conf
cat > "$conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
user = nobody
control = $CNBD_SCRATCH/serverd.sock

[golden]
backend = cow
base = file
path = $base
overlay = $CNBD_SCRATCH/golden.cow

[snap]
backend = cow
base = file
path = $base
CONF
start_cnbd_server "$conf" 10809
on_exit nbd_unload
start_clientd

mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"
on_exit "umount $mnt 2>/dev/null"

check_golden_files() {
    [[ $(file_sha256 "$mnt/blob") == "$want_blob" ]] || guest_fail "$1: blob differs"
    [[ $(cat "$mnt/etc/motd") == golden ]] || guest_fail "$1: motd differs"
}

# ---- persistent: two connections, data across a reattach ----
dev=$(nbdctl attach nbd://127.0.0.1/golden --connections 2) ||
    guest_fail "nbdctl attach of golden failed"
log "golden on $dev"
conns=$(ss -Htn state established '( dport = :10809 )' | wc -l)
[[ $conns == 2 ]] || guest_fail "$conns connections to golden, want 2"
mount /dev/"$dev" "$mnt" || guest_fail "mounting golden failed"
check_golden_files "golden"
head -c 16M /dev/urandom > "$mnt/new"
echo "changed" > "$mnt/etc/motd"
rm "$mnt/blob"
cp "$src/blob" "$mnt/blob2"
sync
want_new=$(file_sha256 "$mnt/new")
umount "$mnt"
e2fsck -fn /dev/"$dev" > "$CNBD_SCRATCH/fsck" 2>&1 ||
    { cat "$CNBD_SCRATCH/fsck"; guest_fail "e2fsck finds golden's file system damaged"; }
nbdctl detach "$dev" || guest_fail "nbdctl detach failed"
[[ $(file_sha256 "$base") == "$base_sum" ]] || guest_fail "writes to golden reached the base"
log "base unchanged after 16 MiB written through the overlay"

dev=$(nbdctl attach nbd://127.0.0.1/golden) || guest_fail "reattach of golden failed"
mount /dev/"$dev" "$mnt" || guest_fail "mounting golden again failed"
[[ $(file_sha256 "$mnt/new") == "$want_new" ]] || guest_fail "new file lost across reattach"
[[ $(file_sha256 "$mnt/blob2") == "$want_blob" ]] || guest_fail "blob2 lost across reattach"
[[ $(cat "$mnt/etc/motd") == changed && ! -e $mnt/blob ]] ||
    guest_fail "changes lost across reattach"
umount "$mnt"
nbdctl detach "$dev" || guest_fail "nbdctl detach failed"

# ---- per connection: gone at disconnect ----
attach_snap() {
    nbd-client -N snap 127.0.0.1 10809 /dev/nbd3 > /dev/null || guest_fail "nbd-client could not attach snap"
    wait_until 10 "nbd3 to connect" nbd_connected 3
}
attach_snap
mount /dev/nbd3 "$mnt" || guest_fail "mounting snap failed"
check_golden_files "snap"
head -c 4M /dev/urandom > "$mnt/scratch"
sync
umount "$mnt"
nbd-client -d /dev/nbd3 > /dev/null || guest_fail "nbd-client -d failed"
wait_until 10 "nbd3 to disconnect" eval '! nbd_connected 3'
attach_snap
mount /dev/nbd3 "$mnt" || guest_fail "mounting snap again failed"
[[ ! -e $mnt/scratch ]] || guest_fail "a per-connection overlay outlived its connection"
check_golden_files "snap again"
umount "$mnt"
nbd-client -d /dev/nbd3 > /dev/null || guest_fail "nbd-client -d failed"
wait_until 10 "nbd3 to disconnect" eval '! nbd_connected 3'
[[ $(file_sha256 "$base") == "$base_sum" ]] || guest_fail "writes to snap reached the base"

# ---- commit: the overlay into the base ----
nbdctl server --socket "$CNBD_SCRATCH/serverd.sock" commit golden ||
    guest_fail "nbdctl server commit golden failed"
[[ $(file_sha256 "$base") != "$base_sum" ]] || guest_fail "commit left the base as it was"
e2fsck -fn "$base" > "$CNBD_SCRATCH/fsck" 2>&1 ||
    { cat "$CNBD_SCRATCH/fsck"; guest_fail "e2fsck finds the committed base damaged"; }
debugfs -R "cat /new" "$base" 2>/dev/null > "$CNBD_SCRATCH/new.out"
[[ $(file_sha256 "$CNBD_SCRATCH/new.out") == "$want_new" ]] ||
    guest_fail "the committed base does not hold the new file"
log "committed: the base image holds the new file, e2fsck clean"
log "ok"
