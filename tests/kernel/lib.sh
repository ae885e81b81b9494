# Helpers for kernel test cases (tests/kernel/cases/*.sh). Source it first:
#
#   . "$CNBD_KERNEL_LIB"
#
# The runner (guest-runner.sh) exports CNBD_REPO, CNBD_BUILD (the build dir
# holding nbd-serverd, nbd-clientd, nbdctl), CNBD_SCRATCH (an empty tmpfs
# directory for this case) and CNBD_CASE. The host root is read-only in the
# guest: write only under CNBD_SCRATCH, /run or /tmp.
#
# Sourcing turns on `set -euo pipefail` and installs an EXIT trap that runs
# the cleanups registered with on_exit, newest first, so a failing case still
# stops its servers and detaches its devices. The runner sweeps whatever is
# left anyway, but a case that cleans up after itself reads better.

set -euo pipefail

: "${CNBD_SCRATCH:?run kernel cases through tests/kernel/guest-runner.sh}"
: "${CNBD_BUILD:?CNBD_BUILD not set}"

_cnbd_cleanups=()

# on_exit CMD...: run CMD (a string, eval'd) when the case exits.
on_exit() {
    _cnbd_cleanups+=("$*")
}

_cnbd_run_cleanups() {
    local rc=$? i
    set +e
    for ((i = ${#_cnbd_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_cnbd_cleanups[i]}"
    done
    exit "$rc"
}
trap _cnbd_run_cleanups EXIT

# log MSG...: a line with the guest's uptime, so slow steps show in the log.
log() {
    local up
    read -r up _ < /proc/uptime
    echo "[$up] $*"
}

# guest_fail MSG...: fail the case loudly.
guest_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# wait_until SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds;
# fail the case naming WHAT if it has not after SECONDS.
wait_until() {
    local secs=$1 what=$2 deadline now
    shift 2
    read -r now _ < /proc/uptime
    deadline=$(awk -v n="$now" -v s="$secs" 'BEGIN { print n + s }')
    until "$@"; do
        read -r now _ < /proc/uptime
        if awk -v n="$now" -v d="$deadline" 'BEGIN { exit !(n > d) }'; then
            guest_fail "timed out after ${secs}s waiting for $what"
        fi
        sleep 0.1
    done
}

# wait_for_dev PATH [SECONDS]: wait for a block device node (or a symlink
# to one, as udev makes) to appear.
wait_for_dev() {
    wait_until "${2:-20}" "block device $1" test -b "$1"
}

# wait_for_tcp PORT [SECONDS]: wait until something listens on TCP PORT.
wait_for_tcp() {
    wait_until "${2:-20}" "a listener on TCP port $1" _cnbd_listening "$1"
}
_cnbd_listening() {
    [[ -n $(ss -Hltn "sport = :$1") ]]
}

# nbd_connected N: true while /dev/nbdN has a live connection (the driver
# publishes the pid of whoever drives it only then).
nbd_connected() {
    [[ -e /sys/block/nbd$1/pid ]]
}

# load_modules MOD...: modprobe each, failing the case if one will not load.
load_modules() {
    local m
    for m in "$@"; do
        modprobe "$m" || guest_fail "modprobe $m failed"
    done
}

# nbd_load [PARAM=VALUE...]: (re)load nbd.ko with these parameters, e.g.
# `nbd_load nbds_max=4`. A loaded module is removed first: parameters only
# apply at load time. Unloaded again when the case exits.
nbd_load() {
    if [[ -d /sys/module/nbd ]]; then
        nbd_unload
    fi
    log "modprobe nbd $*"
    modprobe nbd "$@" || guest_fail "modprobe nbd $* failed"
    on_exit nbd_unload
    wait_until 10 "/sys/block/nbd0" test -e /sys/block/nbd0
}

# nbd_unload: remove nbd.ko. udevd may hold a device open for a moment after
# a change, so retry briefly before calling it a failure.
nbd_unload() {
    local i
    [[ -d /sys/module/nbd ]] || return 0
    for ((i = 0; i < 50; i++)); do
        modprobe -r nbd 2>/dev/null && return 0
        sleep 0.1
    done
    modprobe -r nbd || guest_fail "cannot unload nbd (device still in use?)"
}

# start_udevd [RULES_FILE...]: copy the rules into /run/udev/rules.d (they
# win over /lib/udev/rules.d), start systemd-udevd, replay the "add" events
# of devices that already exist and wait for the queue to drain. Stopped
# again when the case exits.
start_udevd() {
    local r
    mkdir -p /run/udev/rules.d
    for r in "$@"; do
        cp "$r" /run/udev/rules.d/ || guest_fail "cannot copy udev rule $r"
        on_exit "rm -f /run/udev/rules.d/${r##*/}"
    done
    log "starting systemd-udevd"
    /lib/systemd/systemd-udevd --daemon || guest_fail "systemd-udevd did not start"
    on_exit stop_udevd
    udevadm control --ping --timeout=10 || guest_fail "systemd-udevd does not answer"
    udevadm trigger --action=add --subsystem-match=block
    udevadm settle --timeout=30 || guest_fail "udevadm settle timed out"
}

# stop_udevd: ask udevd to exit and wait for it.
stop_udevd() {
    udevadm control --exit 2>/dev/null || true
}

# start_cnbd_server CONFIG [PORT]: run the project's nbd-serverd in the
# foreground (-f) in the background of this case, its log in
# /run/cnbd-serverd.log. With PORT, wait until it listens. Sets
# CNBD_SERVER_PID; stopped when the case exits.
start_cnbd_server() {
    local config=$1 port=${2:-} bin=$CNBD_BUILD/nbd-serverd
    [[ -x $bin ]] || guest_fail "$bin not built"
    CNBD_SERVER_LOG=/run/cnbd-serverd.log
    log "starting $bin -f -c $config"
    "$bin" -f -c "$config" >> "$CNBD_SERVER_LOG" 2>&1 &
    CNBD_SERVER_PID=$!
    on_exit stop_cnbd_server
    if [[ -n $port ]]; then
        wait_for_tcp "$port"
    fi
    kill -0 "$CNBD_SERVER_PID" 2>/dev/null || {
        cat "$CNBD_SERVER_LOG" >&2
        guest_fail "nbd-serverd exited at start"
    }
}

# stop_cnbd_server: SIGTERM, then SIGKILL if it lingers; prints its log.
stop_cnbd_server() {
    [[ -n ${CNBD_SERVER_PID:-} ]] || return 0
    _cnbd_stop_pid "$CNBD_SERVER_PID"
    CNBD_SERVER_PID=
    echo "--- nbd-serverd log ---"
    cat "$CNBD_SERVER_LOG" 2>/dev/null || true
}

# start_peer_nbd_server NAME FILE [PORT]: Debian's nbd-server exporting FILE
# as NAME on 127.0.0.1:PORT (default 10809), its config and pid file in /run.
# Stopped when the case exits.
start_peer_nbd_server() {
    local name=$1 file=$2 port=${3:-10809}
    local conf=/run/nbd-server-$port.conf pidf=/run/nbd-server-$port.pid
    cat > "$conf" <<CONF
[generic]
    user = root
    group = root
    listenaddr = 127.0.0.1
    port = $port
[$name]
    exportname = $file
CONF
    log "starting nbd-server for $name on 127.0.0.1:$port"
    rm -f "$pidf"
    # It daemonizes; -d would serve a single connection and exit.
    nbd-server -C "$conf" -p "$pidf" || guest_fail "nbd-server did not start"
    on_exit "_cnbd_stop_pidfile $pidf"
    wait_until 10 "nbd-server pid file" test -s "$pidf"
    wait_for_tcp "$port"
}

_cnbd_stop_pidfile() {
    [[ -s $1 ]] && _cnbd_stop_pid "$(cat "$1")"
    rm -f "$1"
}

_cnbd_stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# file_sha256 FILE: print FILE's SHA-256.
file_sha256() {
    sha256sum "$1" | cut -d' ' -f1
}
