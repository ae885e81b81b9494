#!/bin/bash
# Boot Debian's kernel in qemu (TCG) with the host root shared read-only
# over 9p, run the kernel test cases inside it (guest-runner.sh), and exit
# with their result.
#
# Usage: run-vm.sh [--shell | --shell-after]
#   --shell        no cases: an interactive shell in the guest (^A x quits qemu)
#   --shell-after  run the cases, then the shell
# Environment:
#   CNBD_KERNEL_CASES    case filter, globs separated by ',' or ' ' (default all)
#   CNBD_KERNEL_TIMEOUT  whole-VM limit in seconds (default 2400 = 40 min)
#   CNBD_CASE_TIMEOUT    per-case limit in seconds (default 300)
#   CNBD_BUILD_DIR       build dir the cases use (default <repo>/build)
#   CNBD_KERNEL_MEM      guest memory (default 3G: tmpfs holds the disk images)
#   CNBD_KERNEL_VERBOSE  1: print every case's output, not only failures'
#   CNBD_KERNEL_APPEND   extra kernel command line (e.g. loglevel=7)
#   CNBD_KERNEL_VERSION  which /boot/vmlinuz-<ver> (default: newest with modules)
#   CNBD_KERNEL_CPU      qemu's -cpu model (default qemu's own, qemu64: no AES-NI;
#                        the bench's TLS runs may ask for max)
#
# The result comes from the guest's "CNBD-KERNEL-RESULT: rc=N" console line;
# without it the VM failed (did not boot, hung, or the runner died), and
# that is a failure, never a skip.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

shell=
case ${1:-} in
    --shell) shell=1 ;;
    --shell-after) shell=after ;;
    '') ;;
    *) echo "usage: $0 [--shell | --shell-after]" >&2; exit 2 ;;
esac

limit=${CNBD_KERNEL_TIMEOUT:-2400}
build=$(realpath -m "${CNBD_BUILD_DIR:-$repo/build}")
outdir=$repo/build/kernel
mkdir -p "$outdir"

kver=$("$here/kernel-version.sh")
kernel=/boot/vmlinuz-$kver
[[ -r $kernel ]] || { echo "run-vm: cannot read $kernel" >&2; exit 1; }

# Rebuild the initramfs when any of its inputs is newer than it.
initrd=$outdir/initramfs-$kver.cpio.gz
stale=
if [[ ! -s $initrd ]]; then
    stale=1
else
    for input in "$here/mkinitramfs.sh" "$here/initramfs-init.sh" \
                 "$(command -v busybox)" "/lib/modules/$kver/modules.dep"; do
        [[ $input -nt $initrd ]] && stale=1
    done
fi
[[ -n $stale ]] && "$here/mkinitramfs.sh" "$kver" "$initrd"

# Several engineers may run this at once in one tree: each run gets its own
# console log; console.log points at the latest.
log=$outdir/console-$(date +%Y%m%d-%H%M%S)-$$.log
ln -sfn "${log##*/}" "$outdir/console.log"
# Keep the ten newest logs.
find "$outdir" -maxdepth 1 -name 'console-*.log' -printf '%T@ %p\n' \
    | sort -rn | tail -n +11 | cut -d' ' -f2- | xargs -r rm -f

cases=${CNBD_KERNEL_CASES:-}
cases=$(echo "$cases" | tr -s ' ' ',' | sed 's/^,//; s/,$//')
append="console=ttyS0 panic=-1 loglevel=4 cnbd.repo=$repo cnbd.build=$build"
append+=" cnbd.case_timeout=${CNBD_CASE_TIMEOUT:-300}"
[[ -n $cases ]] && append+=" cnbd.cases=$cases"
[[ -n $shell ]] && append+=" cnbd.shell=$shell"
[[ -n ${CNBD_KERNEL_VERBOSE:-} ]] && append+=" cnbd.verbose=1"
[[ -n ${CNBD_KERNEL_APPEND:-} ]] && append+=" $CNBD_KERNEL_APPEND"

# TCG, not KVM: on these machines a KVM guest hangs at "Booting from ROM".
qemu=(qemu-system-x86_64 -accel tcg -m "${CNBD_KERNEL_MEM:-3G}" -smp 2
      ${CNBD_KERNEL_CPU:+-cpu "$CNBD_KERNEL_CPU"}
      -nographic -no-reboot -nic none -device virtio-rng-pci
      -kernel "$kernel" -initrd "$initrd" -append "$append"
      -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
      -virtfs "local,path=$repo,mount_tag=cnbdrepo,security_model=none,readonly=on,multidevs=remap")

echo "run-vm: kernel $kver, console log $log"
echo "run-vm: timeout ${limit}s:" "${qemu[@]@Q}"

if [[ $shell == 1 ]]; then
    # Interactive: qemu owns the terminal; ^A x quits.
    timeout --foreground "$limit" "${qemu[@]}" 2>&1 | tee "$log"
    exit "${PIPESTATUS[0]}"
fi

start=$EPOCHREALTIME
elapsed() {
    awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# Stream the console to stdout and the log, without the serial port's
# carriage returns, and time the boot as the host sees it.
stream() {
    local line
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        printf '%s\n' "$line" >> "$log"
        printf '%s\n' "$line"
        if [[ $line == CNBD-KERNEL-RUNNER:* ]]; then
            echo "run-vm: runner started $(elapsed)s after qemu was launched"
        fi
    done
}

stdin=/dev/null
[[ $shell == after ]] && stdin=/dev/tty
set +e
timeout --kill-after=10 "$limit" "${qemu[@]}" < "$stdin" 2>&1 | stream
qemu_rc=${PIPESTATUS[0]}
set -e
echo "run-vm: qemu exited with status $qemu_rc after $(elapsed)s"

result=$(grep -aoE 'CNBD-KERNEL-RESULT: rc=[0-9]+' "$log" | tail -n1 || true)
if [[ -z $result ]]; then
    if ((qemu_rc == 124 || qemu_rc == 137)); then
        echo "run-vm: FAIL: the VM hit the ${limit}s limit (CNBD_KERNEL_TIMEOUT)"
    fi
    echo "run-vm: FAIL: no result from the guest: it did not boot, hung, or the runner died."
    echo "run-vm: last 50 console lines ($log):"
    tail -n 50 "$log"
    exit 1
fi
rc=${result##*=}
if ((rc != 0)); then
    echo "run-vm: FAIL: guest cases failed (rc=$rc); console log $log"
    exit 1
fi
echo "run-vm: all kernel cases passed"
