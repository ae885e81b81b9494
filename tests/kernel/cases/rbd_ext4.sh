#!/bin/bash
# kernel-timeout: 900
# An RBD image as a kernel block device: a single-node Ceph cluster runs in
# the guest (tmpfs, memstore OSD), nbd-serverd serves rbd/test through the
# rbd backend (workers as nobody, keyring root-only), nbd-clientd attaches
# it over two connections (the backend says CAN_MULTI_CONN), ext4 with
# checksummed files survives detach and reattach, and `rbd export` of the
# image holds the same file system.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

[[ -e $CNBD_BUILD/backends/rbd.so ]] ||
    guest_fail "$CNBD_BUILD/backends/rbd.so is not built (librbd-dev, librados-dev)"

cluster=$CNBD_SCRATCH/ceph
on_exit "$CNBD_REPO/tests/ceph/stop-cluster.sh $cluster"
log "starting the Ceph cluster"
t0=$(awk '{ print $1 }' /proc/uptime)
# TCG is slow: give the daemons time.
CEPH_START_TIMEOUT=400 CEPH_IMAGE_SIZE=256M \
    "$CNBD_REPO/tests/ceph/start-cluster.sh" "$cluster" ||
    guest_fail "the Ceph cluster did not start (its log is above)"
t1=$(awk '{ print $1 }' /proc/uptime)
log "cluster up in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
chmod 600 "$cluster/ceph.conf" "$cluster/ceph.client.admin.keyring"
chmod 755 "$CNBD_SCRATCH"

conf=$CNBD_SCRATCH/server.conf
cat > "$conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
user = nobody
control = $CNBD_SCRATCH/serverd.sock

[img]
backend = rbd
pool = rbd
image = test
conf = $cluster/ceph.conf
id = admin
keyring = $cluster/ceph.client.admin.keyring
timeout = 60
CONF
start_cnbd_server "$conf" 10809

on_exit nbd_unload
start_clientd

mnt=$CNBD_SCRATCH/mnt
mkdir -p "$mnt"
on_exit "umount $mnt 2>/dev/null"
load_modules ext4

dev=$(nbdctl attach nbd://127.0.0.1/img --connections 2) ||
    guest_fail "nbdctl attach failed"
log "attached $dev"
[[ $(blockdev --getsize64 /dev/"$dev") == $((256 << 20)) ]] ||
    guest_fail "$dev has the wrong size"
conns=$(ss -Htn state established '( dport = :10809 )' | wc -l)
[[ $conns == 2 ]] || guest_fail "$conns connections to the server, want 2"

t=$(awk '{ print $1 }' /proc/uptime)
mkfs.ext4 -q -F /dev/"$dev" || guest_fail "mkfs.ext4 failed"
mount /dev/"$dev" "$mnt" || guest_fail "mount failed"
head -c 32M /dev/urandom > "$mnt/a"
head -c 3M /dev/urandom > "$mnt/b"
sync
want=$(cd "$mnt" && sha256sum a b)
log "mkfs, mount, 35 MiB written and synced in" \
    "$(awk -v a="$t" '{ printf "%.1f", $1 - a }' /proc/uptime) s"
echo 3 > /proc/sys/vm/drop_caches
got=$(cd "$mnt" && sha256sum a b)
[[ $got == "$want" ]] || guest_fail "checksums after dropping caches differ"
umount "$mnt"
nbdctl detach "$dev" || guest_fail "nbdctl detach failed"

dev=$(nbdctl attach nbd://127.0.0.1/img) || guest_fail "second attach failed"
mount /dev/"$dev" "$mnt" || guest_fail "mount after reattach failed"
got=$(cd "$mnt" && sha256sum a b)
[[ $got == "$want" ]] || guest_fail "checksums after reattach: $got, want $want"
log "checksums match after detach and reattach"
umount "$mnt"
nbdctl detach "$dev" || guest_fail "detach failed"

# What librbd reads back, without nbd in the way, is the same ext4.
rbd -c "$cluster/ceph.conf" export --no-progress rbd/test "$CNBD_SCRATCH/x.img" ||
    guest_fail "rbd export failed"
# debugfs reads the files out of the image file: no loop device needed.
got=$(for f in a b; do
    echo "$(debugfs -R "cat /$f" "$CNBD_SCRATCH/x.img" 2>/dev/null |
            sha256sum | cut -d' ' -f1)  $f"
done)
[[ $got == "$want" ]] || guest_fail "rbd export holds other data: $got, want $want"
log "rbd export holds the same files; case done in" \
    "$(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime) s"
