#!/bin/bash
# Print the version of the Debian kernel the VM boots.
#
# The host runs a different kernel whose modules are not installed, so
# `uname -r` is useless here: the guest must boot a kernel from /boot whose
# modules exist in /lib/modules. The version is discovered, never
# hard-coded, so a kernel package upgrade needs no edit. CNBD_KERNEL_VERSION
# overrides the choice when several kernels are installed.
set -euo pipefail

if [[ -n ${CNBD_KERNEL_VERSION:-} ]]; then
    ver=$CNBD_KERNEL_VERSION
else
    # Newest first; take the first one whose modules are installed.
    ver=
    while IFS= read -r img; do
        v=${img#/boot/vmlinuz-}
        if [[ -f /lib/modules/$v/modules.dep ]]; then
            ver=$v
            break
        fi
    done < <(ls /boot/vmlinuz-* 2>/dev/null | sort -rV)
fi

if [[ -z $ver ]]; then
    echo "kernel-version: no /boot/vmlinuz-* with /lib/modules/<ver>/modules.dep" \
         "(apt-get install linux-image-amd64)" >&2
    exit 1
fi
if [[ ! -r /boot/vmlinuz-$ver || ! -f /lib/modules/$ver/modules.dep ]]; then
    echo "kernel-version: $ver: /boot/vmlinuz-$ver or its modules missing" >&2
    exit 1
fi
echo "$ver"
