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
# and the same over TLS (nbds://, X.509 made with certtool as the
# client_tls_* cases make them), against two more nbd-serverd with
# tls = require that differ only in tls-kernel:
#
#   nbd3  nbd-clientd, tls-mode kernel -> nbd-serverd, tls-kernel = off
#   nbd4  nbd-clientd, tls-mode relay  -> nbd-serverd, tls-kernel = off
#   nbd5  nbd-clientd, tls-mode kernel -> nbd-serverd, tls-kernel = auto
#
# nbd2 is the plaintext these are compared with; nbd3 against nbd5 is the
# A/B of the server's workers (GnuTLS or kernel TLS). Each TLS device is
# checked to be carried as asked (nbdctl list, and the server's log line
# for its connection) before anything is measured.
#
# All export the same image on the guest's tmpfs. Each result is one
# console line "CNBD-BENCH: key=value ..." that run.sh collects (the host
# root is read-only in the guest; the console is the way out). A stack that
# cannot run prints "CNBD-BENCH: stack=... unavailable=REASON" instead of a
# number.
#
# CPU per run, as deltas: the server's cgroup (cpu_ns), nbd-clientd's
# cgroup (daemon_ns: the relay's work; kernel TLS and nbd.ko run in kernel
# threads and in fio's own context, which no cgroup here holds), and the
# whole VM's busy time from /proc/stat (vm_ns: fio, both servers' and the
# kernel's work, crypto included).
#
# Kernel command line knobs (run.sh sets them): cnbd.bench_runtime=SECONDS
# per fio run, cnbd.bench_trials=N, cnbd.bench_stacks=A,B (substrings of
# stack names to keep; default all), cnbd.bench_workloads=rr4k,sr1m (default
# all).
# shellcheck source=tests/kernel/lib.sh
. "$CNBD_KERNEL_LIB"

runtime=5 trials=3 keep= only=
for arg in $(< /proc/cmdline); do
    case $arg in
        cnbd.bench_runtime=*) runtime=${arg#*=} ;;
        cnbd.bench_trials=*) trials=${arg#*=} ;;
        cnbd.bench_stacks=*) keep=${arg#*=} ;;
        cnbd.bench_workloads=*) only=${arg#*=} ;;
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
# vm_ns: every CPU's busy time since boot (user, nice, system, irq,
# softirq, steal; USER_HZ is 100).
vm_ns() {
    awk '$1 == "cpu" { printf "%d0000000\n", $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

nbd_load nbds_max=8
img=$CNBD_SCRATCH/disk.img
size_mib=512
log "writing $size_mib MiB of data (a 16 MiB random block repeated)"
head -c 16M /dev/urandom > "$CNBD_SCRATCH/block"
for ((i = 0; i < size_mib / 16; i++)); do cat "$CNBD_SCRATCH/block"; done > "$img"
rm "$CNBD_SCRATCH/block"

# Which of the instructions TLS's ciphers use the emulated CPU has: both
# GnuTLS and the kernel fall back to plain C without them.
cpuflags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | { grep -xE 'aes|pclmulqdq|avx|avx2|ssse3' || true; } |
    paste -sd+ -)
# A booted Debian loads the CPU's AES-NI and CLMUL drivers at boot (udev,
# by the CPU's modalias); this guest runs no coldplug, and the crypto API
# would settle for the plain C aes-generic it has built in.
if [[ $cpuflags == *aes* ]]; then
    modprobe aesni_intel || guest_fail "the CPU has AES-NI but aesni_intel does not load"
fi
[[ $cpuflags == *pclmulqdq* ]] && modprobe ghash_clmulni_intel
echo "CNBD-BENCH: meta kernel=$(uname -r) nproc=$(nproc) runtime=$runtime" \
     "trials=$trials size_mib=$size_mib fio=$(fio --version)" \
     "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') cpuflags=${cpuflags:-none}"

# --- servers ---------------------------------------------------------------
peer_port=10809 cnbd_port=10810 gnutls_port=10811 ktls_port=10812
in_cgroup nbd-server start_peer_nbd_server bench "$img" "$peer_port"

# cnbd_conf PORT [KEY=VALUE...]: nbd-serverd serving the image as "bench".
cnbd_conf() {
    local port=$1 kv
    shift
    echo "[server]"
    echo "listen = 127.0.0.1:$port"
    echo "backend-dir = $CNBD_BUILD/backends"
    echo "user = nobody"
    for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
    echo "[bench]"
    echo "backend = file"
    echo "path = $img"
}
# start_tls_server NAME PORT TLS_KERNEL: one of the two TLS servers, its
# log in /run/NAME.log (start_cnbd_server keeps one server only).
start_tls_server() {
    local name=$1 port=$2
    cnbd_conf "$port" tls=require "tls-certificates=$TLS/pki" "tls-kernel=$3" \
        > "$CNBD_SCRATCH/$name.conf"
    "$CNBD_BUILD/nbd-serverd" -f -c "$CNBD_SCRATCH/$name.conf" > "/run/$name.log" 2>&1 &
    on_exit "kill $! 2>/dev/null; echo '--- $name log ---'; cat /run/$name.log"
    wait_for_tcp "$port"
}

cnbd_server=
if [[ -x $CNBD_BUILD/nbd-serverd ]]; then
    cnbd_conf "$cnbd_port" > "$CNBD_SCRATCH/nbd-serverd.conf"
    in_cgroup nbd-serverd start_cnbd_server "$CNBD_SCRATCH/nbd-serverd.conf" "$cnbd_port"
    cnbd_server=1
    # X.509 as the client_tls_* cases make it (ECDSA: RSA keys take long
    # under TCG); the key exchange is not what is measured.
    . "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
    . "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"
    tls_keys
    in_cgroup nbd-serverd-gnutls start_tls_server nbd-serverd-gnutls "$gnutls_port" off
    in_cgroup nbd-serverd-ktls start_tls_server nbd-serverd-ktls "$ktls_port" auto
fi

# --- devices ---------------------------------------------------------------
# stacks[i] = "name device server_cgroup"; unavailable ones are reported
# and left out.
stacks=()
unavailable() {
    echo "CNBD-BENCH: stack=$1 unavailable=$2"
}
wanted() {
    local k
    [[ -z $keep ]] && return 0
    for k in ${keep//,/ }; do [[ $1 == *"$k"* ]] && return 0; done
    return 1
}

attach_nbd_client() {   # DEVICE PORT
    # -b 4096: the block size nbd-serverd advertises as preferred; the
    # default 512 would make this stack differ in more than the server.
    nbd-client -N bench 127.0.0.1 "$2" "/dev/$1" -b 4096 \
        || guest_fail "nbd-client could not attach /dev/$1 to port $2"
    on_exit "nbd-client -d /dev/$1 >/dev/null 2>&1"
    wait_until 10 "$1 to connect" nbd_connected "${1#nbd}"
}

wanted nbd-client+nbd-server && {
    attach_nbd_client nbd0 "$peer_port"
    stacks+=("nbd-client+nbd-server nbd0 nbd-server")
}

if [[ -z $cnbd_server ]]; then
    unavailable nbd-client+nbd-serverd "$CNBD_BUILD/nbd-serverd is not built"
elif wanted nbd-client+nbd-serverd; then
    attach_nbd_client nbd1 "$cnbd_port"
    stacks+=("nbd-client+nbd-serverd nbd1 nbd-serverd")
fi

# attach_clientd STACK DEVICE SERVER_CGROUP URI [NBDCTL ARGS...]
attach_clientd() {
    local stack=$1 dev=$2 group=$3 uri=$4
    shift 4
    wanted "$stack" || return 0
    if ! nbdctl attach "$uri" --device "$dev" "$@" > /run/nbdctl.out 2>&1 ||
        ! wait_until 10 "$dev to connect" nbd_connected "${dev#nbd}"; then
        unavailable "$stack" "nbdctl attach failed: $(tr '\n' ' ' < /run/nbdctl.out | cut -c1-120)"
        return 0
    fi
    on_exit "nbdctl detach $dev >/dev/null 2>&1"
    stacks+=("$stack $dev $group")
}

cnbd_client_missing=
for b in nbd-clientd nbdctl; do
    [[ -x $CNBD_BUILD/$b ]] || cnbd_client_missing+="${cnbd_client_missing:+, }$CNBD_BUILD/$b"
done
clientd_stacks="nbd-clientd+nbd-serverd nbd-clientd:kernel+nbd-serverd:gnutls
    nbd-clientd:relay+nbd-serverd:gnutls nbd-clientd:kernel+nbd-serverd:kernel"
if [[ -z $cnbd_server || -n $cnbd_client_missing ]]; then
    for st in $clientd_stacks; do
        unavailable "$st" "not built yet: ${cnbd_client_missing:-$CNBD_BUILD/nbd-serverd}"
    done
else
    in_cgroup nbd-clientd start_clientd
    tls_uri() { echo "nbds://localhost:$1/bench?tls-certificates=$TLS/client"; }
    attach_clientd nbd-clientd+nbd-serverd nbd2 nbd-serverd "nbd://127.0.0.1:$cnbd_port/bench"
    attach_clientd nbd-clientd:kernel+nbd-serverd:gnutls nbd3 nbd-serverd-gnutls \
        "$(tls_uri "$gnutls_port")" --tls-mode kernel
    attach_clientd nbd-clientd:relay+nbd-serverd:gnutls nbd4 nbd-serverd-gnutls \
        "$(tls_uri "$gnutls_port")" --tls-mode relay
    attach_clientd nbd-clientd:kernel+nbd-serverd:kernel nbd5 nbd-serverd-ktls \
        "$(tls_uri "$ktls_port")" --tls-mode kernel
    nbdctl list
fi

# Each TLS stack is what its name says, or nothing is measured: the
# daemon's side from nbdctl list, the worker's from its log line.
for s in "${stacks[@]}"; do
    read -r sname dev group <<< "$s"
    case $sname in
        *:kernel+*) tls_is "$dev" kernel ;;
        *:relay+*) tls_is "$dev" relay ;;
        *) continue ;;
    esac
    want="TLS)"
    [[ $sname == *serverd:kernel ]] && want="kernel TLS)"
    wait_until 10 "$group to log its connection" grep -q "serving export 'bench'" "/run/$group.log"
    grep "serving export 'bench'" "/run/$group.log" | grep -qF ", $want" ||
        guest_fail "$group does not serve $dev with $want: $(grep "serving export" "/run/$group.log")"
    [[ $want == "TLS)" ]] && grep -q "kernel TLS)" "/run/$group.log" &&
        guest_fail "$group (tls-kernel = off) served with kernel TLS"
done
# The kernel's own count of its TLS sockets, for the record (Curr*: now).
echo "CNBD-BENCH: meta-tls $(awk '/Curr/ { printf "%s=%s ", $1, $2 }' /proc/net/tls_stat 2>/dev/null)"

# --- runs --------------------------------------------------------------------
workloads=(
    "rr4k --rw=randread --bs=4k --iodepth=32"
    "rw4k --rw=randwrite --bs=4k --iodepth=32"
    "sr1m --rw=read --bs=1m --iodepth=8"
)
out=$CNBD_SCRATCH/fio
mkdir -p "$out"
daemon_ns() {
    if [[ -d $cg/nbd-clientd ]]; then cpu_ns nbd-clientd; else echo 0; fi
}
for w in "${workloads[@]}"; do
    read -r wkey wargs <<< "$w"
    [[ -z $only || ,$only, == *,$wkey,* ]] || continue
    for ((t = 1; t <= trials; t++)); do
        for s in "${stacks[@]}"; do
            read -r sname dev group <<< "$s"
            json=$out/$sname-$wkey-$t.json
            before=$(cpu_ns "$group") dbefore=$(daemon_ns) vbefore=$(vm_ns)
            # shellcheck disable=SC2086 # wargs is a list of fio options
            fio --name=bench --filename="/dev/$dev" --ioengine=libaio --direct=1 \
                --time_based --runtime="$runtime" --norandommap --randrepeat=0 \
                --output-format=json --output="$json" $wargs \
                || guest_fail "fio $wkey on /dev/$dev failed"
            after=$(cpu_ns "$group") dafter=$(daemon_ns) vafter=$(vm_ns)
            echo "CNBD-BENCH: stack=$sname workload=$wkey trial=$t" \
                 "cpu_ns=$((after - before)) daemon_ns=$((dafter - dbefore))" \
                 "vm_ns=$((vafter - vbefore)) $("$py" "$here/fio_summary.py" "$json")"
        done
    done
done
# Which implementation the kernel's TLS used (AES-NI or plain C), now
# that it has been used: the drivers /proc/crypto lists for the AEADs.
echo "CNBD-BENCH: meta-crypto $(awk '/^name/ { n = $3 } /^driver/ && n ~ /^(rfc4106\()?gcm\(aes\)|^rfc7539\(chacha20,poly1305\)/ { printf "%s=%s ", n, $3 }' /proc/crypto)"
log "kernel bench done"
