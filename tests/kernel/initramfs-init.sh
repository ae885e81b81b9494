#!/bin/busybox sh
# PID 1 of the test VM (copied to /init by mkinitramfs.sh).
#
# It only gets the host's root file system mounted: load the virtio and 9p
# modules, mount the host root read-only over 9p, give it fresh proc/sys/dev
# and tmpfs where things must be writable, switch into it and run the guest
# runner. Everything else (bash, modprobe, udevd, the project's build) comes
# from the host, so the initramfs stays tiny and never goes stale.
#
# If anything fails before the switch it powers the VM off: a VM that hangs
# would only burn the host's timeout. The host reads the result from the
# runner's marker line on the console, so a failure here shows up as "no
# marker".
set -eu
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "cnbd-init: $*"; }

power_off() {
    sync
    poweroff -f
    # Only reached if the ACPI power-off did not happen.
    echo o > /proc/sysrq-trigger
    sleep 10
}

die() {
    say "FATAL: $*"
    power_off
}

# Busybox ash: a failing command under set -e ends the script; make sure it
# still powers off instead of panicking with a cryptic "Attempted to kill init".
trap 'die "init script failed"' EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Parameters with a dot never reach init's argv/environment, so read them
# from /proc/cmdline like the runner does.
repo=
for arg in $(cat /proc/cmdline); do
    case $arg in
        cnbd.repo=*) repo=${arg#cnbd.repo=} ;;
    esac
done
[ -n "$repo" ] || die "no cnbd.repo= on the kernel command line"

# Dependencies first: mkinitramfs.sh wrote them in load order.
while read -r mod; do
    insmod "/modules/$mod" || die "insmod $mod failed"
done < /modules/order

# The 9p transport probes the virtio device when its driver registers, but
# give a slow TCG boot a few tries before calling it a failure.
opts=trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro
mkdir -p /newroot
tries=0
until mount -t 9p -o "$opts" hostroot /newroot; do
    tries=$((tries + 1))
    [ "$tries" -lt 10 ] || die "cannot mount the host root over 9p (tag hostroot)"
    sleep 0.5
done

R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
# debugfs holds the nbd driver's per-device state (/sys/kernel/debug/nbd).
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null || true
# The host root is read-only: everything a test or a daemon writes lands on
# tmpfs. /tmp hides the host's /tmp (so nothing of the host's /tmp is usable
# in the guest), /root is HOME.
for d in /run /root; do
    mount -t tmpfs -o mode=0755 tmpfs "$R$d"
done
for d in /tmp /var/tmp; do
    mount -t tmpfs -o mode=1777 tmpfs "$R$d"
done
mkdir -p $R/run/lock

# The repository is shared on its own as well, so it stays visible even when
# it lives under a directory hidden above (a worktree in /tmp).
[ -d "$R$repo" ] || mkdir -p "$R$repo"
mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro" \
    cnbdrepo "$R$repo" || die "cannot mount the repository (tag cnbdrepo) at $repo"

runner=$repo/tests/kernel/guest-runner.sh
[ -f "$R$runner" ] || die "$runner not found in the guest"

say "switching root to the host root, running $runner"
trap - EXIT
# switch_root, not chroot: the runner becomes PID 1 inside the new root, so
# /proc/1/root is / and systemd's tools do not think they are in a chroot
# (udevadm trigger/settle/control silently do nothing there). From here the
# runner powers the VM off; if it dies instead, the kernel panics and
# panic=-1 with qemu's -no-reboot ends the VM.
exec env -i TERM=linux HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    switch_root /newroot /bin/bash "$runner"
