# Shared by the client_*.sh kernel cases (sourced; not a case itself:
# guest-runner.sh runs only cases/*.sh).
#
#   start_clientd [ARGS...]   nbd-clientd -f on /run/cnbd/clientd.sock, log in
#                             $CNBD_SCRATCH/clientd.log; stopped (SIGTERM) on exit
#   stop_clientd              SIGTERM and wait; prints the log
#   nbdctl ARGS...            the project's nbdctl

# Per case: /run outlives a case, the scratch directory does not.
CLIENTD_LOG=$CNBD_SCRATCH/clientd.log
CLIENTD_PID=

nbdctl() {
    "$CNBD_BUILD/nbdctl" "$@"
}

start_clientd() {
    log "starting nbd-clientd -f $*"
    "$CNBD_BUILD/nbd-clientd" -f -v "$@" >> "$CLIENTD_LOG" 2>&1 &
    CLIENTD_PID=$!
    on_exit stop_clientd
    wait_until 20 "nbd-clientd's control socket" nbdctl list
}

stop_clientd() {
    [[ -n $CLIENTD_PID ]] || return 0
    kill -TERM "$CLIENTD_PID" 2>/dev/null
    local i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$CLIENTD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$CLIENTD_PID" 2>/dev/null && { echo "nbd-clientd ignored SIGTERM for 30 s" >&2; kill -KILL "$CLIENTD_PID"; }
    wait "$CLIENTD_PID" 2>/dev/null
    CLIENTD_PID=
    echo "--- nbd-clientd log ---"
    cat "$CLIENTD_LOG"
}

# --- reconnect helpers (client_netlink_*.sh) ---

# list_field DEVICE COLUMN: a column of `nbdctl list` for DEVICE
# (1 DEVICE, 2 STATE, 3 BINDING, 4 SIZE, 5 CONNS, 6 RECONNECTS, 7 TLS, 8 URI).
list_field() {
    nbdctl list | awk -v d="$1" -v c="$2" '$1 == d { print $c }'
}
state_is() {	# state_is DEVICE STATE
    [[ $(list_field "$1" 2) == "$2" ]]
}

# server_workers: the pids of nbd-serverd's workers (the master's children).
server_workers() {
    pgrep -P "$CNBD_SERVER_PID" || true
}

# kill_server SIGNAL: the master and every worker at once.
kill_server() {
    local pids
    pids="$CNBD_SERVER_PID $(server_workers)"
    log "kill -$1 nbd-serverd: $pids"
    kill "-$1" $pids
}

# forget_server: after SIGKILL, reap the master so that start_cnbd_server
# can run a new one.
forget_server() {
    wait "$CNBD_SERVER_PID" 2>/dev/null || true
    CNBD_SERVER_PID=
}

# A file export on tmpfs, single use (a reconnecting client must get the
# lease back from a dead connection's worker). Sets SERVER_CONF.
# file_export_conf IMAGE SIZE [MAX_CONNECTIONS]
file_export_conf() {
    truncate -s "$2" "$1"
    SERVER_CONF=$CNBD_SCRATCH/server.conf
    cat > "$SERVER_CONF" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
[disk]
backend = file
path = $1
max-connections = ${3:-1}
CONF
}

# The checksummed writer (client_records.py): start_writer FILE,
# stop_writer (fails the case if the writer saw an error), verify_records.
RECORDS=$CNBD_REPO/tests/kernel/cases/client_records.py
WRITER_PID=
start_writer() {
    WRITER_FILE=$1
    WRITER_PROGRESS=$CNBD_SCRATCH/progress
    WRITER_STOP=$CNBD_SCRATCH/stop-writer
    rm -f "$WRITER_PROGRESS" "$WRITER_STOP"
    "$RECORDS" write "$WRITER_FILE" "$WRITER_PROGRESS" "$WRITER_STOP" \
        > "$CNBD_SCRATCH/writer.log" 2>&1 &
    WRITER_PID=$!
    on_exit "touch $WRITER_STOP"
}
writer_progress() {
    cat "$WRITER_PROGRESS" 2>/dev/null || echo -1
}
# wait_records N: until the writer has fsync'd more than N records.
wait_records() {
    wait_until "${2:-60}" "the writer to pass record $1" \
        eval '(( $(writer_progress) > '"$1"' ))'
}
stop_writer() {
    touch "$WRITER_STOP"
    wait "$WRITER_PID" || { cat "$CNBD_SCRATCH/writer.log"; guest_fail "the writer saw an error"; }
    WRITER_PID=
    log "writer: $(cat "$CNBD_SCRATCH/writer.log")"
}
verify_records() {
    local out
    out=$("$RECORDS" verify "$WRITER_FILE" "$(writer_progress)") || guest_fail "records: $out"
    log "$out"
}

# no_io_errors DEVICE: the kernel logged no I/O error on it.
no_io_errors() {
    if dmesg | grep -E "(I/O error|Buffer I/O|EXT4-fs error).*$1|$1.*(I/O error|Buffer I/O)"; then
        guest_fail "the kernel logged I/O errors on $1"
    fi
}

# The ext4 setup and checks the netlink reconnect cases share.
# ext4_attach ATTACH_ARGS...: attach (nbd0 expected), mkfs, mount on MNT,
# clear the kernel log; the writer is started by the case.
ext4_attach() {
    local dev
    dev=$(nbdctl attach nbd://127.0.0.1/disk "$@") || guest_fail "attach failed"
    [[ $dev == nbd0 ]] || guest_fail "attached $dev"
    [[ $(list_field nbd0 3) == netlink ]] || { nbdctl list; guest_fail "not the netlink binding"; }
    ext4_mount
}

# ext4_mount: mkfs on nbd0, mount on MNT, clear the kernel log.
ext4_mount() {
    load_modules ext4
    MNT=$CNBD_SCRATCH/mnt
    mkdir -p "$MNT"
    mkfs.ext4 -q -F /dev/nbd0 || guest_fail "mkfs failed"
    mount /dev/nbd0 "$MNT" || guest_fail "mount failed"
    on_exit "umount $MNT 2>/dev/null"
    dmesg -C
}

# reconnected_count: the daemon's "nbd0: reconnected" log lines.
reconnected_count() {
    grep -c "nbd0: reconnected" "$CLIENTD_LOG" || true
}

# ext4_check RECONNECTS: the writer saw no error, the daemon logged that
# many reconnects and counts them, no I/O error in the kernel log, fsck
# is clean and every fsync'd record is there; then detach.
ext4_check() {
    stop_writer
    nbdctl list
    grep "nbd0: reconnected" "$CLIENTD_LOG" || true
    [[ $(reconnected_count) == "$1" ]] || guest_fail "$(reconnected_count) reconnects logged, want $1"
    [[ $(list_field nbd0 6) == "$1" ]] || guest_fail "reconnect count $(list_field nbd0 6), want $1"
    umount "$MNT"
    dmesg | grep nbd0 || true
    no_io_errors nbd0
    fsck.ext4 -fn /dev/nbd0 || guest_fail "fsck found errors"
    mount -o ro /dev/nbd0 "$MNT" || guest_fail "mount for the check failed"
    verify_records
    umount "$MNT"
    nbdctl detach nbd0 || guest_fail "detach failed"
    nbd_connected 0 && guest_fail "nbd0 still connected after detach"
    return 0
}
