#!/bin/bash
# Out of descriptors, the master neither dies nor spins: accept() fails
# with EMFILE, the master logs it (once per 5 s, not per try), pauses
# 200 ms between tries (on the control socket too), and the waiting
# clients are served as soon as descriptors are available again.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

need prlimit /usr/bin/python3
cnbd_tmpdir

port=$(free_port)
conf=$tmp/server.conf
SERVER_CONTROL=$tmp/control.sock write_server_config "$conf" "127.0.0.1:$port"
add_export "$conf" disk backend=memory size=1M
start_server "$conf"

# A limit of N, N the lowest descriptor number the master does not use,
# leaves accept() no number to use. Wait until start_server's probe has
# ended its worker, whose monitor socket holds a number about to be freed.
for i in $(seq 1 50); do
	[ -z "$(workers_of "$SERVER_PID")" ] && break
	sleep 0.1
done
sleep 0.2	# reaped, and its monitor socket closed
fds=$(ls "/proc/$SERVER_PID/fd" | sort -n)
n=0
while grep -qx "$n" <<<"$fds"; do
	n=$((n + 1))
done
prlimit --pid "$SERVER_PID" --nofile="$n:" || fail "prlimit failed"

/usr/bin/python3 - "nbd://127.0.0.1:$port/disk" "$tmp/served" <<'PY' &
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
with open(sys.argv[2], "w") as f:
    f.write("%d\n" % h.get_size())
h.shutdown()
PY
client=$!
# A control connection waits in its backlog too, and must not make the
# master spin either.
/usr/bin/python3 - "$tmp/control.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"list\n")
s.settimeout(20)
s.recv(100)
PY
control_client=$!

before=$(cpu_ticks)
sleep 3
used=$(( $(cpu_ticks) - before ))
server_alive
[ ! -e "$tmp/served" ] || fail "the client was served although the master had no descriptor for it"
# A master retrying in a loop would burn ~300 ticks (at 100 Hz) in 3 s.
[ "$used" -le 30 ] || fail "the master used $used clock ticks in 3 s while out of descriptors: not pausing"
lines=$(grep -c "accept on 127.0.0.1:$port: Too many open files: pausing 200 ms between tries" "$tmp/server.log" || true)
[ "$lines" -ge 1 ] || fail "EMFILE was not logged"
[ "$lines" -le 2 ] || fail "EMFILE logged $lines times in 3 s: want at most one line per 5 s"

prlimit --pid "$SERVER_PID" --nofile=1024: || fail "prlimit failed"
wait_file "$tmp/served"
[ "$(cat "$tmp/served")" = 1048576 ] || fail "the client got size $(cat "$tmp/served")"
wait "$client" || fail "the client failed after descriptors came back"
wait "$control_client" || fail "the control client failed after descriptors came back"
grep -q "accepting again after [0-9]* refused tries" "$tmp/server.log" ||
	fail "no 'accepting again' line once descriptors came back"
server_alive
log "out of descriptors for accept(): $used ticks in 3 s, $lines log lines"

# One descriptor short instead: accept() works, but the worker's lease
# socket (two descriptors) cannot be made. The connection waits, the
# master does not spin, and the client is served once there is room.
for i in $(seq 1 50); do
	[ -z "$(workers_of "$SERVER_PID")" ] && break
	sleep 0.1
done
sleep 0.2
fds=$(ls "/proc/$SERVER_PID/fd" | sort -n)
n=0
while grep -qx "$n" <<<"$fds"; do
	n=$((n + 1))
done
prlimit --pid "$SERVER_PID" --nofile="$((n + 1)):" || fail "prlimit failed"
rm -f "$tmp/served"
/usr/bin/python3 - "nbd://127.0.0.1:$port/disk" "$tmp/served" <<'PY' &
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
with open(sys.argv[2], "w") as f:
    f.write("%d\n" % h.get_size())
h.shutdown()
PY
client=$!
before=$(cpu_ticks)
sleep 2
used=$(( $(cpu_ticks) - before ))
[ ! -e "$tmp/served" ] || fail "served without a monitor socket"
[ "$used" -le 20 ] || fail "the master used $used clock ticks in 2 s waiting for a monitor socket"
grep -q "a monitor socket for a new connection: Too many open files: pausing" "$tmp/server.log" ||
	fail "the monitor socket shortage was not logged"
prlimit --pid "$SERVER_PID" --nofile=1024: || fail "prlimit failed"
wait_file "$tmp/served"
wait "$client" || fail "the waiting client failed once descriptors came back"
server_alive
log "ok (waiting for a monitor socket: $used ticks in 2 s)"
