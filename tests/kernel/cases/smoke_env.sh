#!/bin/bash
# The guest is what the other cases assume (docs/kernel-testing.md): the
# Debian kernel whose modules are installed, the host root read-only, tmpfs
# where writes go, the build dir visible, loopback up.
. "$CNBD_KERNEL_LIB"

kver=$(uname -r)
[[ -f /lib/modules/$kver/modules.dep ]] || guest_fail "no modules for the running kernel $kver"
log "kernel $kver"

touch /usr/.cnbd-ro-probe 2>/dev/null && guest_fail "the host root is writable from the guest"
for d in /tmp /run /var/tmp /root "$CNBD_SCRATCH"; do
    touch "$d/.probe" || guest_fail "$d is not writable"
    rm -f "$d/.probe"
    [[ $(stat -f -c %T "$d") == tmpfs ]] || guest_fail "$d is not tmpfs"
done

[[ -d $CNBD_BUILD ]] || guest_fail "build dir $CNBD_BUILD not visible in the guest"
[[ -r $CNBD_KERNEL_LIB ]] || guest_fail "lib.sh not readable"

ip -o link show lo | grep -q 'UP' || guest_fail "loopback is down"
log "environment as expected"
