#!/bin/bash
# Runs inside the test VM as PID 1, switched into the host's root (see
# initramfs-init.sh): runs each case in tests/kernel/cases/ with a timeout,
# prints PASS/FAIL lines and the summary, prints the marker line
# "CNBD-KERNEL-RESULT: rc=N" that run-vm.sh looks for on the console (the
# host root is read-only here, so the console is the only way out), and
# powers the VM off.
#
# Kernel command line parameters it reads:
#   cnbd.cases=GLOB[,GLOB...]  which cases (by name, without .sh); default all
#   cnbd.case_timeout=SECONDS  per-case limit (default 300); a case may raise
#                              its own with a line "# kernel-timeout: N"
#   cnbd.build=DIR             the build dir (default <repo>/build)
#   cnbd.shell=1|after         an interactive shell instead of / after the cases
#   cnbd.verbose=1             print every case's output, not only failures'
#
# In the guest shell (run-vm.sh --shell) run it again with case globs as
# arguments to run those cases the same way, sweep included:
#   bash $CNBD_REPO/tests/kernel/guest-runner.sh 'smoke_*'
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp LC_ALL=C.UTF-8
export CNBD_REPO=$repo CNBD_BUILD=$repo/build CNBD_KERNEL_LIB=$here/lib.sh

patterns=() case_timeout=300 shell= verbose= casedir=$here/cases
for arg in $(< /proc/cmdline); do
    case $arg in
        cnbd.cases=*) IFS=, read -r -a patterns <<< "${arg#*=}" ;;
        # Another directory of cases, relative to the repo: the kernel
        # benchmark lives outside the tests so it is never counted as one.
        cnbd.casedir=*) casedir=$repo/${arg#*=} ;;
        cnbd.case_timeout=*) case_timeout=${arg#*=} ;;
        cnbd.build=*) CNBD_BUILD=${arg#*=} ;;
        cnbd.shell=*) shell=${arg#*=} ;;
        cnbd.verbose=*) verbose=${arg#*=} ;;
    esac
done

# As PID 1 we must end the VM ourselves, however this script ends: an
# error before the marker leaves no marker, which the host reports.
power_off() {
    local rc=$?
    echo "cnbd-runner: exiting with status $rc, powering off"
    sync
    busybox poweroff -f || true
    # Only reached if the ACPI power-off did not happen.
    echo o > /proc/sysrq-trigger
    sleep 30
}
(($$ == 1)) && trap power_off EXIT

# Arguments (from the guest shell) pick cases and mean no shell.
if (($# > 0)); then
    patterns=("$@") shell=
fi

read -r up _ < /proc/uptime
echo "CNBD-KERNEL-RUNNER: started at guest uptime ${up}s, kernel $(uname -r)"

# Loopback is down in a fresh network namespace; every case talks over it.
ip link set lo up

interactive_shell() {
    echo "cnbd: shell in the guest (repo $CNBD_REPO, build $CNBD_BUILD)."
    echo "cnbd: run cases with: bash $here/guest-runner.sh 'GLOB' ...; 'exit' powers off."
    # setsid -c makes the serial port our controlling tty, so ^C works.
    setsid -c -w bash -i < /dev/ttyS0 > /dev/ttyS0 2>&1 || true
}

if [[ $shell == 1 ]]; then
    export CNBD_SCRATCH=/tmp/cnbd-shell CNBD_CASE=shell
    mkdir -p "$CNBD_SCRATCH"
    interactive_shell
    echo "CNBD-KERNEL-RESULT: rc=0"
    exit 0
fi

# matches NAME: does the case name match the filter (no filter: all do)?
matches() {
    local p
    ((${#patterns[@]} == 0)) && return 0
    for p in "${patterns[@]}"; do
        p=${p%.sh}
        # shellcheck disable=SC2053 # the pattern is a glob on purpose
        [[ $1 == $p ]] && return 0
    done
    return 1
}

# Snapshots taken before each case, so the sweep after it removes only
# what the case left behind and the next case starts clean.
declare -A pids_before mounts_before

snapshot() {
    local p m
    pids_before=()
    for p in /proc/[0-9]*; do pids_before[${p#/proc/}]=1; done
    mounts_before=()
    while read -r _ m _; do mounts_before[$m]=1; done < /proc/self/mounts
}

sweep() {
    local p pid comm c m i dev
    local -a new_mounts=()
    # Processes the case started and left running (daemons escape the
    # timeout's process group). Kernel threads have an empty cmdline.
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [[ -n ${pids_before[$pid]:-} || $pid == "$$" || $pid == "$BASHPID" ]] && continue
        # /proc files report size 0, so read the first argument instead.
        c=
        IFS= read -r -d '' c < "$p/cmdline" 2>/dev/null || [[ -n $c ]] || continue
        comm=$(< "$p/comm") 2>/dev/null || continue
        echo "  sweep: killing leftover process $pid ($comm)"
        kill -KILL "$pid" 2>/dev/null || true
    done
    while read -r _ m _; do
        [[ -n ${mounts_before[$m]:-} ]] || new_mounts+=("$m")
    done < /proc/self/mounts
    for ((i = ${#new_mounts[@]} - 1; i >= 0; i--)); do
        echo "  sweep: unmounting ${new_mounts[i]}"
        umount "${new_mounts[i]}" 2>/dev/null || umount -l "${new_mounts[i]}" || true
    done
    for p in /sys/block/nbd*/pid; do
        [[ -e $p ]] || continue
        dev=${p%/pid}; dev=/dev/${dev##*/}
        echo "  sweep: disconnecting $dev"
        nbd-client -d "$dev" > /dev/null 2>&1 || true
    done
    if [[ -d /sys/module/nbd ]]; then
        for ((i = 0; i < 30; i++)); do
            modprobe -r nbd 2>/dev/null && break
            sleep 0.1
        done
        [[ -d /sys/module/nbd ]] && echo "  sweep: WARNING: nbd.ko still loaded"
    fi
    rm -rf /run/udev "$CNBD_SCRATCH"
}

now() {
    local t
    read -r t _ < /proc/uptime
    echo "$t"
}

passed=0 failed=0 ran=0
failed_names=()
logdir=/run/cnbd-kernel-logs
mkdir -p "$logdir"

for f in "$casedir"/*.sh; do
    [[ -e $f ]] || continue
    name=${f##*/}; name=${name%.sh}
    matches "$name" || continue
    ran=$((ran + 1))

    limit=$case_timeout
    own=$(sed -n 's/^# kernel-timeout: *\([0-9][0-9]*\).*/\1/p' "$f" | head -n1)
    [[ -n $own ]] && limit=$own

    export CNBD_CASE=$name CNBD_SCRATCH=/tmp/cnbd-case
    rm -rf "$CNBD_SCRATCH"
    mkdir -p "$CNBD_SCRATCH"
    snapshot
    echo "RUN  $name (limit ${limit}s)"
    start=$(now)
    rc=0
    # timeout puts the case in its own process group and kills the whole
    # group when the limit is hit.
    timeout --kill-after=10 "$limit" bash "$f" < /dev/null > "$logdir/$name.log" 2>&1 || rc=$?
    secs=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')

    if ((rc == 0)); then
        passed=$((passed + 1))
        echo "PASS $name (${secs}s)"
        [[ -n $verbose ]] && sed 's/^/  | /' "$logdir/$name.log"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        why="exit status $rc"
        ((rc == 124 || rc == 137)) && why="timed out after ${limit}s"
        echo "FAIL $name (${secs}s, $why)"
        sed 's/^/  | /' "$logdir/$name.log"
    fi
    sweep
done

if ((ran == 0)); then
    echo "no case matched '${patterns[*]}' in $casedir"
    failed=1
fi

echo "$passed passed, $failed failed${failed_names:+ (${failed_names[*]})}"
rc=0
((failed == 0)) || rc=1
[[ $shell == after ]] && interactive_shell
echo "CNBD-KERNEL-RESULT: rc=$rc"
exit "$rc"
