#!/bin/bash
# Runs inside the kernel test VM (started by tests/bench/kernel/run.sh via
# the shim tests/bench/kernel/cases/bench_kernel.sh): fio with libaio and
# O_DIRECT on NBD block devices, one per client/server stack, all attached
# at once so that the trials can be interleaved like the userspace bench:
#
#   nbd0  Debian nbd-client  -> Debian nbd-server       (the peer stack)
#   nbd1  Debian nbd-client  -> cnbd nbd-serverd        (our server alone)
#   nbd2  cnbd nbd-clientd   -> cnbd nbd-serverd        (ours end to end)
#
# All three export the same image on the guest's tmpfs. Each result is one
# console line "CNBD-BENCH: key=value ..." that run.sh collects (the host
# root is read-only in the guest; the console is the way out). A stack that
# cannot run prints "CNBD-BENCH: stack=... unavailable=REASON" instead of a
# number.
#
# Kernel command line knobs (run.sh sets them): cnbd.bench_runtime=SECONDS
# per fio run, cnbd.bench_trials=N.
# shellcheck source=tests/kernel/lib.sh
. "$CNBD_KERNEL_LIB"

runtime=5 trials=3
for arg in $(< /proc/cmdline); do
    case $arg in
        cnbd.bench_runtime=*) runtime=${arg#*=} ;;
        cnbd.bench_trials=*) trials=${arg#*=} ;;
    esac
done
here=$CNBD_REPO/tests/bench/kernel
py=/usr/bin/python3

# Server CPU comes from a cgroup per server, as in the userspace bench (a
# worker per connection; see tests/bench/cpuacct.py). The guest has no
# cgroup mount of its own.
cg=/sys/fs/cgroup
mount -t cgroup2 none "$cg" || guest_fail "cannot mount cgroup2 in the guest"
on_exit "umount $cg"
# in_cgroup NAME CMD...: run CMD (a shell function that starts a server in
# the background) with this shell inside cgroup NAME, so the server and
# everything it forks are charged there; then step back out. What this
# shell does meanwhile is charged too, but only before any measurement.
in_cgroup() {
    local name=$1
    shift
    mkdir -p "$cg/$name"
    on_exit "rmdir $cg/$name 2>/dev/null"
    echo $$ > "$cg/$name/cgroup.procs"
    "$@"
    echo $$ > "$cg/cgroup.procs"
}
cpu_ns() {
    awk '$1 == "usage_usec" { printf "%d000\n", $2 }' "$cg/$1/cpu.stat"
}

nbd_load nbds_max=4
img=$CNBD_SCRATCH/disk.img
size_mib=512
log "writing $size_mib MiB of data (a 16 MiB random block repeated)"
head -c 16M /dev/urandom > "$CNBD_SCRATCH/block"
for ((i = 0; i < size_mib / 16; i++)); do cat "$CNBD_SCRATCH/block"; done > "$img"
rm "$CNBD_SCRATCH/block"

echo "CNBD-BENCH: meta kernel=$(uname -r) nproc=$(nproc) runtime=$runtime" \
     "trials=$trials size_mib=$size_mib fio=$(fio --version)"

# --- servers ---------------------------------------------------------------
peer_port=10809 cnbd_port=10810
in_cgroup nbd-server start_peer_nbd_server bench "$img" "$peer_port"

cnbd_server=
if [[ -x $CNBD_BUILD/nbd-serverd ]]; then
    conf=$CNBD_SCRATCH/nbd-serverd.conf
    cat > "$conf" <<CONF
[server]
listen = 127.0.0.1:$cnbd_port
backend-dir = $CNBD_BUILD/backends
user = nobody

[bench]
backend = file
path = $img
CONF
    in_cgroup nbd-serverd start_cnbd_server "$conf" "$cnbd_port"
    cnbd_server=1
fi

# --- devices ---------------------------------------------------------------
# stacks[i] = "name device cgroup"; unavailable ones are reported and left out.
stacks=()
unavailable() {
    echo "CNBD-BENCH: stack=$1 unavailable=$2"
}

attach_nbd_client() {   # DEVICE PORT
    # -b 4096: the block size nbd-serverd advertises as preferred; the
    # default 512 would make this stack differ in more than the server.
    nbd-client -N bench 127.0.0.1 "$2" "/dev/$1" -b 4096 \
        || guest_fail "nbd-client could not attach /dev/$1 to port $2"
    on_exit "nbd-client -d /dev/$1 >/dev/null 2>&1"
    wait_until 10 "$1 to connect" nbd_connected "${1#nbd}"
}

attach_nbd_client nbd0 "$peer_port"
stacks+=("nbd-client+nbd-server nbd0 nbd-server")

if [[ -n $cnbd_server ]]; then
    attach_nbd_client nbd1 "$cnbd_port"
    stacks+=("nbd-client+nbd-serverd nbd1 nbd-serverd")
else
    unavailable nbd-client+nbd-serverd "$CNBD_BUILD/nbd-serverd is not built"
fi

cnbd_client_missing=
for b in nbd-clientd nbdctl; do
    [[ -x $CNBD_BUILD/$b ]] || cnbd_client_missing+="${cnbd_client_missing:+, }$CNBD_BUILD/$b"
done
if [[ -z $cnbd_server ]]; then
    unavailable nbd-clientd+nbd-serverd "$CNBD_BUILD/nbd-serverd is not built"
elif [[ -n $cnbd_client_missing ]]; then
    unavailable nbd-clientd+nbd-serverd "not built yet: $cnbd_client_missing"
else
    log "starting nbd-clientd"
    "$CNBD_BUILD/nbd-clientd" -f > /run/nbd-clientd.log 2>&1 &
    clientd=$!
    on_exit "kill $clientd 2>/dev/null; wait $clientd 2>/dev/null; echo '--- nbd-clientd log ---'; cat /run/nbd-clientd.log"
    attached=
    for ((i = 0; i < 50; i++)); do
        if "$CNBD_BUILD/nbdctl" attach "nbd://127.0.0.1:$cnbd_port/bench" --device nbd2 \
                > /run/nbdctl.out 2>&1; then
            attached=1
            break
        fi
        sleep 0.2   # the daemon may not be listening on its socket yet
    done
    if [[ -n $attached ]] && wait_until 10 "nbd2 to connect" nbd_connected 2; then
        on_exit "$CNBD_BUILD/nbdctl detach nbd2 >/dev/null 2>&1"
        stacks+=("nbd-clientd+nbd-serverd nbd2 nbd-serverd")
    else
        unavailable nbd-clientd+nbd-serverd \
            "nbdctl attach failed: $(tr '\n' ' ' < /run/nbdctl.out | cut -c1-120)"
    fi
fi

# --- runs --------------------------------------------------------------------
workloads=(
    "rr4k --rw=randread --bs=4k --iodepth=32"
    "rw4k --rw=randwrite --bs=4k --iodepth=32"
    "sr1m --rw=read --bs=1m --iodepth=8"
)
out=$CNBD_SCRATCH/fio
mkdir -p "$out"
for w in "${workloads[@]}"; do
    read -r wkey wargs <<< "$w"
    for ((t = 1; t <= trials; t++)); do
        for s in "${stacks[@]}"; do
            read -r sname dev group <<< "$s"
            json=$out/$sname-$wkey-$t.json
            before=$(cpu_ns "$group")
            # shellcheck disable=SC2086 # wargs is a list of fio options
            fio --name=bench --filename="/dev/$dev" --ioengine=libaio --direct=1 \
                --time_based --runtime="$runtime" --norandommap --randrepeat=0 \
                --output-format=json --output="$json" $wargs \
                || guest_fail "fio $wkey on /dev/$dev failed"
            after=$(cpu_ns "$group")
            echo "CNBD-BENCH: stack=$sname workload=$wkey trial=$t" \
                 "cpu_ns=$((after - before)) $("$py" "$here/fio_summary.py" "$json")"
        done
    done
done
log "kernel bench done"
