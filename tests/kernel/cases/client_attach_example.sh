#!/bin/bash
# examples/attach.c, the attach API's short program, run as its user
# would run it: against nbd-serverd (a file export, read back from the
# file afterwards) and nbdkit (memory). Each run attaches a free device
# through the public API, writes 1 MiB with O_DIRECT, reads it back and
# detaches: the device is disconnected when it exits.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

example=$CNBD_BUILD/examples/attach
[[ -x $example ]] || guest_fail "$example is not built"
nbd_load nbds_max=2

# run_example URI: the example's one line, which must say it worked (the
# library's log lines go to stderr).
run_example() {
    local out err=$CNBD_SCRATCH/example.err
    out=$("$example" "$1" 2>"$err") || guest_fail "examples/attach $1 failed: $out $(cat "$err")"
    log "examples/attach $1: $out"
    cat "$err"
    [[ $out == "/dev/nbd0 (netlink): 1 MiB written and read back" ]] ||
        guest_fail "examples/attach $1 said: $out"
    nbd_connected 0 && guest_fail "nbd0 is still connected after examples/attach $1"
    return 0
}

img=$CNBD_SCRATCH/disk.img
file_export_conf "$img" 64M 0
start_cnbd_server "$SERVER_CONF" 10809
run_example nbd://127.0.0.1/disk
python3 - "$img" <<'PY' || guest_fail "the export's file does not hold what the example wrote"
import sys
with open(sys.argv[1], "rb") as f:
    data = f.read(1 << 20)
sys.exit(data != bytes(i % 251 for i in range(1 << 20)))
PY

nbdkit -f -i 127.0.0.1 -p 10811 memory 64M > /run/nbdkit.log 2>&1 &
nbdkit_pid=$!
on_exit "kill $nbdkit_pid 2>/dev/null; wait $nbdkit_pid 2>/dev/null"
wait_for_tcp 10811
run_example nbd://127.0.0.1:10811/
log "ok"
