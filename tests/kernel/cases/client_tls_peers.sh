#!/bin/bash
# kernel-timeout: 300
# ext4 on nbds:// with PSK to nbd-serverd (tls = require, the identity from
# the URI's user) and with X.509 to nbdkit --tls=require, each with kernel
# TLS and with the daemon's relay: checksummed files survive detach and
# reattach, fsck is clean, and nbdctl list shows how the TLS is carried.
# The PSK identity from tls-username (libnbd's spelling) works too; and
# both ways with the ioctl binding.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

nbd_load nbds_max=4
load_modules ext4
tls_keys
tls_export_conf "$CNBD_SCRATCH/disk.img" 64M psk 10809
start_cnbd_server "$SERVER_CONF" 10809
truncate -s 64M "$CNBD_SCRATCH/kit.img"
nbdkit -f -p 10810 --ipaddr 127.0.0.1 --tls=require --tls-certificates="$TLS/pki" \
    file "$CNBD_SCRATCH/kit.img" > "$CNBD_SCRATCH/nbdkit.log" 2>&1 &
on_exit "kill $! 2>/dev/null"
wait_for_tcp 10810
start_clientd -M
MNT=$CNBD_SCRATCH/mnt
mkdir -p "$MNT"

# round_trip URI MODE [BINDING]: attach, mkfs, files, detach, reattach,
# check, detach.
round_trip() {
    local uri=$1 mode=$2 binding=${3:-netlink} dev t0=$SECONDS
    dev=$(nbdctl attach "$uri" --tls-mode "$mode" --binding "$binding") ||
        guest_fail "attach $uri ($mode, $binding) failed"
    tls_is "$dev" "$mode"
    [[ $(list_field "$dev" 3) == "$binding" ]] || guest_fail "binding $(list_field "$dev" 3), want $binding"
    mkfs.ext4 -q -F "/dev/$dev" || guest_fail "mkfs failed"
    mount "/dev/$dev" "$MNT" || guest_fail "mount failed"
    checksummed_files "$MNT/files"
    umount "$MNT"
    nbdctl detach "$dev" || guest_fail "detach failed"
    dev=$(nbdctl attach "$uri" --tls-mode "$mode" --binding "$binding") ||
        guest_fail "reattach $uri ($mode, $binding) failed"
    files_intact "$dev"
    log "$uri with $mode TLS, $binding binding: $((SECONDS - t0)) s"
}

PSK_URI="nbds://alice@127.0.0.1/disk?tls-psk-file=$TLS/keys.psk"
KIT_URI="nbds://localhost:10810/?tls-certificates=$TLS/client"
round_trip "$PSK_URI" kernel
round_trip "$PSK_URI" relay
round_trip "$KIT_URI" kernel
round_trip "$KIT_URI" relay
round_trip "nbds://127.0.0.1/disk?tls-psk-file=$TLS/keys.psk&tls-username=alice" kernel ioctl
round_trip "$PSK_URI" relay ioctl
grep "attached" "$CLIENTD_LOG"
log "ok"
