#!/bin/bash
# A worker killed with SIGKILL in the middle of a connection harms only
# that connection: the master logs how it died, stays up, and the next
# client is served and finds the data the dead worker's client wrote and
# flushed (a memory export lives in the master, shared by workers).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

need nbdinfo /usr/bin/python3
cnbd_tmpdir

port=$(free_port)
conf=$tmp/server.conf
write_config "$conf" "$port" disk backend=memory size=8M
start_server "$conf"

hold_client "nbd://127.0.0.1:$port/disk" "$tmp/ready"
wait_file "$tmp/ready"
worker=$(wait_worker "$SERVER_PID")
log "killing worker $worker"
kill -KILL "$worker"

# The master logs the signal and reaps the worker.
for i in $(seq 1 50); do
	grep -q "worker $worker killed by signal 9" "$tmp/server.log" && break
	sleep 0.1
done
grep -q "worker $worker killed by signal 9" "$tmp/server.log" ||
	fail "the master did not log 'worker $worker killed by signal 9'"
server_alive
[ -z "$(workers_of "$SERVER_PID")" ] || fail "the dead worker was not reaped: $(workers_of "$SERVER_PID")"
kill "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" 2>/dev/null || true

# Next clients, one after another, each in a new worker.
for n in 1 2 3; do
	got=$(/usr/bin/python3 - "nbd://127.0.0.1:$port/disk" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
print(h.pread(4096, 0) == b"\xa5" * 4096)
h.shutdown()
PY
) || fail "client $n after the crash failed"
	[ "$got" = True ] || fail "client $n after the crash does not see the flushed data"
done
nbdinfo "nbd://127.0.0.1:$port/disk" >/dev/null || fail "nbdinfo after the crash failed"
server_alive
log "ok"
