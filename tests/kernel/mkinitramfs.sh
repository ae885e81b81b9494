#!/bin/bash
# Build the test VM's initramfs: busybox-static, /init, and the modules that
# mount the host root over virtio 9p (virtio_pci, 9pnet_virtio, 9p and their
# dependencies from modules.dep, in load order), plus virtio_rng.
#
# virtio_rng feeds the guest's entropy pool from the host (qemu's
# virtio-rng-pci). Without it the crng of a TCG guest takes anywhere from 2
# to 15 s to initialise, and whatever calls getrandom() first (nbd-client,
# through GnuTLS) stalls for that long.
#
# Usage: mkinitramfs.sh KERNEL_VERSION OUTPUT.cpio.gz
#
# Modules are stored decompressed: busybox insmod cannot be relied on to
# read .ko.xz/.ko.zst, and a few hundred KiB more do not matter.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kver=${1:?usage: mkinitramfs.sh KERNEL_VERSION OUTPUT.cpio.gz}
out=${2:?usage: mkinitramfs.sh KERNEL_VERSION OUTPUT.cpio.gz}
moddir=/lib/modules/$kver
wanted=(virtio_pci 9pnet_virtio 9p virtio_rng)

busybox=$(command -v busybox || true)
if [[ -z $busybox ]] || ! file -L "$busybox" | grep -q 'statically linked'; then
    echo "mkinitramfs: need a static busybox (apt-get install busybox-static)" >&2
    exit 1
fi
[[ -f $moddir/modules.dep ]] || { echo "mkinitramfs: $moddir/modules.dep missing" >&2; exit 1; }

# modules.dep maps "kernel/x/name.ko[.xz]: dep dep ..." with paths relative
# to $moddir. Index it by module name (file name without .ko*, with '-' and
# '_' equivalent as the kernel treats them).
declare -A path_of deps_of
while IFS= read -r line; do
    mod=${line%%:*}
    name=$(basename "$mod"); name=${name%%.ko*}; name=${name//-/_}
    path_of[$name]=$mod
    deps_of[$name]=${line#*:}
done < "$moddir/modules.dep"

order=()
declare -A seen
# Depth-first: every dependency is placed before the module that needs it.
resolve() {
    local name=${1//-/_} dep dname
    [[ -n ${seen[$name]:-} ]] && return 0
    seen[$name]=1
    if [[ -z ${path_of[$name]:-} ]]; then
        # Built into this kernel: nothing to load.
        if grep -qE "/${name//_/[-_]}\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
            return 0
        fi
        echo "mkinitramfs: module $name is neither in modules.dep nor built in" >&2
        exit 1
    fi
    for dep in ${deps_of[$name]}; do
        dname=$(basename "$dep"); dname=${dname%%.ko*}
        resolve "$dname"
    done
    order+=("$name")
}
for m in "${wanted[@]}"; do resolve "$m"; done

stage=$(mktemp -d "$(dirname "$out")/initramfs.XXXXXX")
trap 'rm -rf "$stage" "${tmp:-}"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,newroot,modules}
cp "$busybox" "$stage/bin/busybox"
install -m 0755 "$here/initramfs-init.sh" "$stage/init"
# The kernel's built-in initramfs normally provides /dev/console; make our
# own in case it does not, or init would run without stdout.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

for name in "${order[@]}"; do
    src=$moddir/${path_of[$name]}
    dst=$stage/modules/$name.ko
    case $src in
        *.ko)     cp "$src" "$dst" ;;
        *.ko.xz)  xz -dc "$src" > "$dst" ;;
        *.ko.zst) zstd -qdc "$src" > "$dst" ;;
        *.ko.gz)  gzip -dc "$src" > "$dst" ;;
        *) echo "mkinitramfs: unknown module format: $src" >&2; exit 1 ;;
    esac
    echo "$name.ko" >> "$stage/modules/order"
done

# Written under a unique name and renamed: several runs may build at once.
tmp=$(mktemp "$out.XXXXXX")
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) \
    | gzip -9 > "$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$out"
echo "mkinitramfs: $out for $kver: ${order[*]}"
