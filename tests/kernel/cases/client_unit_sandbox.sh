#!/bin/bash
# kernel-timeout: 400
# nbd-clientd under its own unit's restrictions (client/nbd-clientd.service:
# the bounding set CAP_SYS_ADMIN CAP_SYS_MODULE, NoNewPrivileges, the system
# call deny list, RestrictAddressFamilies, MemoryDenyWriteExecute, UMask),
# applied by tests/lib/unit_sandbox.c: the daemon loads nbd itself, attaches
# through netlink (a checksummed write and read back, a killed worker
# reconnected with NBD_CMD_RECONFIGURE) and through ioctl, detaches, and
# stops on SIGTERM. The control: the same without CAP_SYS_ADMIN cannot
# attach, with the kernel's refusal in the error.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

# (No /dev/fd in the guest: no process substitution.)
PYTHONPATH=$CNBD_REPO/tests/lib CNBD_BUILD=$CNBD_BUILD python3 -c '
import sys, unit_settings
for a in unit_settings.sandbox_args(sys.argv[1]):
    print(a)' "$CNBD_REPO/client/nbd-clientd.service" > "$CNBD_SCRATCH/args" ||
    guest_fail "cannot read the unit's settings"
mapfile -t ARGS < "$CNBD_SCRATCH/args"
(( ${#ARGS[@]} > 10 )) || guest_fail "no unit-sandbox options from the unit: ${ARGS[*]}"
log "unit-sandbox ${ARGS[*]}"

start_sandboxed_clientd() {	# start_sandboxed_clientd UNIT-SANDBOX-ARGS...
    "$CNBD_BUILD/tests/unit-sandbox" "$@" -- "$CNBD_BUILD/nbd-clientd" -f -v \
        >> "$CLIENTD_LOG" 2>&1 &
    CLIENTD_PID=$!
    on_exit stop_clientd
    wait_until 20 "nbd-clientd's control socket" nbdctl list
}

nbd_unload
on_exit nbd_unload
file_export_conf "$CNBD_SCRATCH/disk.img" 64M 4
start_cnbd_server "$SERVER_CONF" 10809
start_sandboxed_clientd "${ARGS[@]}"
lsmod | grep -q '^nbd ' || guest_fail "the sandboxed daemon did not load nbd"
grep -q '^CapBnd:	0000000000210000$' "/proc/$CLIENTD_PID/status" ||
    guest_fail "the daemon's bounding set is $(grep CapBnd "/proc/$CLIENTD_PID/status"), want CAP_SYS_ADMIN and CAP_SYS_MODULE only"
grep -q '^NoNewPrivs:	1$' "/proc/$CLIENTD_PID/status" || guest_fail "no no_new_privs"

dev=$(nbdctl attach nbd://127.0.0.1/disk --timeout 10) || guest_fail "netlink attach under the unit's restrictions failed"
[[ $dev == nbd0 && $(list_field nbd0 3) == netlink ]] || { nbdctl list; guest_fail "attached $dev"; }
head -c 8M /dev/urandom > "$CNBD_SCRATCH/data"
dd if="$CNBD_SCRATCH/data" of=/dev/nbd0 bs=1M oflag=direct status=none || guest_fail "write to nbd0"
worker=$(server_workers)
log "kill -KILL worker $worker"
kill -KILL $worker
wait_until 60 "the reconnect" eval '(( $(list_field nbd0 6) > 0 )) && state_is nbd0 connected'
head -c 8M /dev/nbd0 | cmp - "$CNBD_SCRATCH/data" || guest_fail "nbd0 does not read back what was written"
nbdctl detach nbd0 || guest_fail "detach nbd0"

dev=$(nbdctl attach nbd://127.0.0.1/disk --binding ioctl) || guest_fail "ioctl attach under the unit's restrictions failed"
head -c 8M "/dev/$dev" | cmp - "$CNBD_SCRATCH/data" || guest_fail "$dev (ioctl) does not read back the data"
nbdctl detach "$dev" || guest_fail "detach $dev"
stop_clientd
grep -qE 'error|Operation not permitted' "$CLIENTD_LOG" && guest_fail "errors under the unit's restrictions"

# The control: without CAP_SYS_ADMIN the kernel refuses the daemon.
: > "$CLIENTD_LOG"
for ((i = 0; i < ${#ARGS[@]}; i++)); do
    [[ ${ARGS[i]} == --keep-caps ]] && ARGS[i + 1]=CAP_SYS_MODULE
done
start_sandboxed_clientd "${ARGS[@]}"
out=$(nbdctl attach nbd://127.0.0.1/disk --negotiate-timeout 5 2>&1) &&
    guest_fail "attached without CAP_SYS_ADMIN: the harness does not apply the bounding set"
grep -q 'Operation not permitted' <<<"$out" || guest_fail "refused without CAP_SYS_ADMIN, but unclearly: $out"
log "without CAP_SYS_ADMIN: $out"
log "ok"
