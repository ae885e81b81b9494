#!/bin/bash
# The udev rules for real, with systemd-udevd in the guest: nbd-clientd
# started with a devices file binds nbd0 with no nbdctl call; the add
# events of the module it loads reach it through `nbdctl udev-add`; the
# connected device is named /dev/nbd/by-export/<export> (escaped as udev
# escapes), partitions get -partN; the names go when the device does.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_unload
rules=$CNBD_SCRATCH/60-cnbd.rules
sed "s|@BINDIR@|$CNBD_BUILD|g" "$CNBD_REPO/udev/60-cnbd.rules.in" > "$rules"
start_udevd "$rules"

truncate -s 128M "$CNBD_SCRATCH/disk.img" "$CNBD_SCRATCH/vm.img"
cat > "$CNBD_SCRATCH/server.conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
[disk]
backend = file
path = $CNBD_SCRATCH/disk.img
[vm one]
backend = file
path = $CNBD_SCRATCH/vm.img
CONF
start_cnbd_server "$CNBD_SCRATCH/server.conf" 10809

cat > "$CNBD_SCRATCH/devices.conf" <<CONF
[nbd0]
uri = nbd://127.0.0.1/disk
[nbd1]
uri = nbd://127.0.0.1/vm%20one
CONF
on_exit nbd_unload
start_clientd -c "$CNBD_SCRATCH/devices.conf"

wait_until 30 "nbd0 to be bound from the devices file" nbd_connected 0
wait_until 30 "nbd1 to be bound from the devices file" nbd_connected 1
wait_for_dev /dev/nbd/by-export/disk 30
[[ $(readlink -f /dev/nbd/by-export/disk) == /dev/nbd0 ]] ||
    guest_fail "/dev/nbd/by-export/disk -> $(readlink -f /dev/nbd/by-export/disk)"
# A space in the export name is escaped, as udev escapes by-label links.
wait_for_dev '/dev/nbd/by-export/vm\x20one' 30
[[ $(readlink -f '/dev/nbd/by-export/vm\x20one') == /dev/nbd1 ]] || guest_fail "vm one link is wrong"
log "links: $(ls /dev/nbd/by-export | tr '\n' ' ')"

# The module the daemon loaded made "add" events; the rule passed them on.
udevadm settle --timeout=30
grep -q "udev-add nbd0" "$CLIENTD_LOG" || guest_fail "no udev-add reached the daemon"
grep -q "udev-add nbd15" "$CLIENTD_LOG" || guest_fail "udev-add for nbd15 did not reach the daemon"

# Partitions are named after the export too.
# Two partitions in an MBR written by hand (no partitioning tool needed),
# counted in the device's logical sectors (4096 bytes here: the server
# prefers 4096, so the kernel block size is 4096).
ss=$(blockdev --getss /dev/nbd0)
python3 - /dev/nbd0 "$ss" <<'PY' || guest_fail "writing a partition table failed"
import struct, sys
ss = int(sys.argv[2])
mib = 1 << 20
mbr = bytearray(512)
for i, (start, end) in enumerate([(1 * mib, 33 * mib), (33 * mib, 128 * mib)]):
    mbr[446 + 16 * i:446 + 16 * (i + 1)] = struct.pack(
        '<B3sB3sII', 0, b'', 0x83, b'', start // ss, (end - start) // ss)
mbr[510:512] = b'\x55\xaa'
with open(sys.argv[1], 'r+b') as f:
    f.write(mbr)
PY
blockdev --rereadpt /dev/nbd0 || guest_fail "re-reading the partition table failed"
udevadm settle --timeout=30
wait_for_dev /dev/nbd/by-export/disk-part1 30
wait_for_dev /dev/nbd/by-export/disk-part2 30
[[ $(readlink -f /dev/nbd/by-export/disk-part2) == /dev/nbd0p2 ]] || guest_fail "disk-part2 is wrong"

# Detached: the names go.
"$CNBD_BUILD/nbdctl" detach nbd0 || guest_fail "detach failed"
wait_until 30 "the links of nbd0 to go" test ! -e /dev/nbd/by-export/disk
wait_until 30 "the partition links to go" test ! -e /dev/nbd/by-export/disk-part1
[[ -e '/dev/nbd/by-export/vm\x20one' ]] || guest_fail "nbd1's link went with nbd0's"
log "ok"
