#!/bin/bash
# As root, a worker serves with nothing left of root: the configured user
# and its group, no supplementary groups, no capabilities in any set
# (bounding set included), no_new_privs; and none of the master's
# descriptors (listening sockets, signalfd, control socket, the lease
# sockets of other workers). The master stays root and
# keeps accepting while a worker is connected.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

[ "$(id -u)" = 0 ] || fail "must run as root (CI runs as root): the privilege drop cannot be tested otherwise"
need nbdinfo /usr/bin/python3
cnbd_tmpdir

port=$(free_port)
conf=$tmp/server.conf
write_server_config "$conf" "127.0.0.1:$port" "unix:$tmp/nbd.sock"
grep -qx 'user = nobody' "$conf" || fail "helper did not configure user = nobody"
add_export "$conf" disk backend=memory size=16M
# A stray descriptor from whoever starts the server: it must not reach
# a worker.
exec 7<"$conf"
start_server "$conf"

uid=$(id -u nobody)
gid=$(id -g nobody)

hold_client "nbd://127.0.0.1:$port/disk" "$tmp/ready"
wait_file "$tmp/ready"
worker=$(wait_worker "$SERVER_PID")
log "master $SERVER_PID, worker $worker"

zero=0000000000000000
[ "$(status_field "$worker" Uid)" = "$(printf '%s\t%s\t%s\t%s' $uid $uid $uid $uid)" ] ||
	fail "worker Uid: '$(status_field "$worker" Uid)', want $uid in all four"
[ "$(status_field "$worker" Gid)" = "$(printf '%s\t%s\t%s\t%s' $gid $gid $gid $gid)" ] ||
	fail "worker Gid: '$(status_field "$worker" Gid)', want $gid in all four"
[ -z "$(status_field "$worker" Groups | tr -d '[:space:]')" ] ||
	fail "worker has supplementary groups: '$(status_field "$worker" Groups)'"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
	[ "$(status_field "$worker" $set)" = $zero ] ||
		fail "worker $set is $(status_field "$worker" $set), want $zero"
done
[ "$(status_field "$worker" NoNewPrivs)" = 1 ] ||
	fail "worker NoNewPrivs is '$(status_field "$worker" NoNewPrivs)', want 1"

# The master is the privileged half and must stay so.
[ "$(status_field "$SERVER_PID" Uid | cut -f1)" = 0 ] || fail "the master is no longer root"

# The worker holds none of the master's descriptors.
master_sockets=$(for fd in /proc/"$SERVER_PID"/fd/*; do readlink "$fd"; done | grep '^socket:' | sort)
[ -n "$master_sockets" ] || fail "cannot see the master's listening sockets"
worker_fds=$(for fd in /proc/"$worker"/fd/*; do readlink "$fd"; done | sort)
for s in $master_sockets; do
	if grep -qxF "$s" <<<"$worker_fds"; then
		fail "worker $worker holds the master's listening socket $s"
	fi
done
if grep -q signalfd <<<"$worker_fds"; then
	fail "worker $worker holds the master's signalfd"
fi
# Beyond stdio: its one connection, its end of the monitor socket and the
# export's memfd; no other worker's monitor socket. Nothing the test
# harness left open reaches it either (the master closes those).
[ "$(grep -c '^socket:' <<<"$worker_fds")" = 2 ] ||
	fail "worker $worker holds $(grep -c '^socket:' <<<"$worker_fds") sockets, want 2: $worker_fds"
for fd in /proc/"$worker"/fd/*; do
	n=${fd##*/}
	[ "$n" -le 2 ] && continue
	case "$(readlink "$fd")" in
	socket:*|/memfd:cnbd-memory*|anon_inode:*|pipe:*) ;;
	*) fail "worker $worker holds fd $n -> $(readlink "$fd")" ;;
	esac
done

# While that client stays connected, the master takes new ones, over TCP
# and the Unix socket, and they see the first client's data (one shared
# memory export).
nbdinfo "nbd://127.0.0.1:$port/disk" >"$tmp/info" || fail "nbdinfo failed while a worker was connected"
grep -q 'export-size: 16777216' "$tmp/info" || fail "unexpected nbdinfo output: $(cat "$tmp/info")"
got=$(/usr/bin/python3 - "nbd+unix:///disk?socket=$tmp/nbd.sock" <<'EOF'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
print(h.pread(4096, 0) == b"\xa5" * 4096)
h.shutdown()
EOF
) || fail "a second client over the Unix socket failed"
[ "$got" = True ] || fail "second client does not see the first client's data"
server_alive
[ -d /proc/"$worker" ] || fail "the first worker ended while its client was connected"

kill "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" 2>/dev/null || true
log "ok"
