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
