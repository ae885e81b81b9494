#!/bin/bash
# udev works in the VM: systemd-udevd runs in the guest with a rule the case
# writes, and the rule fires on nbd's connect and disconnect events. The
# project's real rules (udev/) are tested the same way by other cases.
. "$CNBD_KERNEL_LIB"

# An unconnected nbd device has size 0; the kernel sends a "change" event
# when a connection gives it a size and again when the disconnect takes it
# away, so this link exists exactly while the device is connected.
rule=$CNBD_SCRATCH/99-cnbd-smoke.rules
cat > "$rule" <<'RULE'
ACTION=="add|change", SUBSYSTEM=="block", KERNEL=="nbd[0-9]*", ENV{DEVTYPE}=="disk", \
  ATTR{size}!="0", SYMLINK+="cnbd-smoke/%k"
RULE

start_udevd "$rule"
# udevd is already watching when the module creates the devices, as on a
# real system; their "add" events must not make links.
nbd_load nbds_max=2
udevadm settle --timeout=30 || guest_fail "udevadm settle timed out"
[[ -e /dev/cnbd-smoke/nbd0 ]] && guest_fail "link exists before nbd0 is connected"

img=$CNBD_SCRATCH/disk.img
truncate -s 64M "$img"
start_peer_nbd_server smoke "$img"

log "attaching /dev/nbd0"
nbd-client -N smoke 127.0.0.1 /dev/nbd0 || guest_fail "nbd-client could not attach"
on_exit 'nbd-client -d /dev/nbd0 >/dev/null 2>&1'
log "attached; waiting for udev's link"
wait_for_dev /dev/cnbd-smoke/nbd0 20
target=$(readlink -f /dev/cnbd-smoke/nbd0)
[[ $target == /dev/nbd0 ]] || guest_fail "/dev/cnbd-smoke/nbd0 points at $target"
[[ -e /dev/cnbd-smoke/nbd1 ]] && guest_fail "a link for the unconnected nbd1 appeared"
log "udev made /dev/cnbd-smoke/nbd0 -> $target"

log "detaching /dev/nbd0"
nbd-client -d /dev/nbd0 || guest_fail "nbd-client -d failed"
wait_until 20 "udev to remove /dev/cnbd-smoke/nbd0" test ! -e /dev/cnbd-smoke/nbd0
log "link removed on disconnect"
