#!/bin/bash
# Signals to the master: SIGHUP does not kill it (nor its workers);
# SIGTERM and SIGINT stop accepting, end the workers, remove the Unix
# socket file and exit 0. SIGPIPE never matters: a client that vanishes
# mid-transfer costs only its worker.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

need nbdinfo /usr/bin/python3
cnbd_tmpdir

# stop_with SIG: sends SIG to the master, which must exit 0 within 8 s.
stop_with() {
	local i rc=0
	kill -"$1" "$SERVER_PID"
	for i in $(seq 1 80); do
		_cnbd_running "$SERVER_PID" || break
		sleep 0.1
	done
	_cnbd_running "$SERVER_PID" && fail "the master ignored SIG$1 for 8 s"
	wait "$SERVER_PID" || rc=$?
	[ $rc = 0 ] || fail "the master exited $rc after SIG$1, want 0"
	SERVER_PID=
}

port=$(free_port)
sock=$tmp/nbd.sock
conf=$tmp/server.conf
write_server_config "$conf" "127.0.0.1:$port" "unix:$sock"
add_export "$conf" disk backend=memory size=4M

for sig in TERM INT; do
	: >"$tmp/ready"
	rm -f "$tmp/ready"
	start_server "$conf"
	[ -S "$sock" ] || fail "no Unix socket at $sock"
	hold_client "nbd+unix:///disk?socket=$sock" "$tmp/ready"
	wait_file "$tmp/ready"
	worker=$(wait_worker "$SERVER_PID")

	kill -HUP "$SERVER_PID"
	sleep 0.3
	server_alive
	[ -d "/proc/$worker" ] || fail "SIGHUP to the master ended worker $worker"
	nbdinfo "nbd://127.0.0.1:$port/disk" >/dev/null || fail "no service after SIGHUP"

	# A client that disappears in the middle of a large read.
	/usr/bin/python3 - "$port" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(18)
s.sendall(struct.pack(">I", 3))                   # FIXED_NEWSTYLE | NO_ZEROES
name = b"disk"
s.sendall(struct.pack(">QII", 0x49484156454F5054, 1, len(name)) + name)  # EXPORT_NAME
s.recv(10)
s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 1, 0, 4 << 20))       # READ 4 MiB
s.close()
PY
	sleep 0.3
	server_alive

	stop_with "$sig"
	grep -q "shutting down" "$tmp/server.log" || fail "no 'shutting down' line after SIG$sig"
	[ ! -d "/proc/$worker" ] || fail "worker $worker outlived the master after SIG$sig"
	[ ! -e "$sock" ] || fail "the Unix socket file $sock remains after SIG$sig"
	if _cnbd_probe "127.0.0.1:$port"; then
		fail "something still accepts on $port after SIG$sig"
	fi
	kill "$HOLD_PID" 2>/dev/null || true
	wait "$HOLD_PID" 2>/dev/null || true
	log "SIG$sig ok"
done
