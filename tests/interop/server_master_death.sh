#!/bin/bash
# Workers never outlive the master: killed with SIGKILL, the master takes
# its workers with it (their parent-death signal), so no connection goes
# on outside what a restarted master knows. And the systemd unit's
# CapabilityBoundingSet is enough for a clean SIGTERM shutdown: the master,
# run with exactly that set, ends its (unprivileged) workers and exits 0.
# Without CAP_KILL it could not signal them: it must still exit, in
# bounded time, and the workers still end.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

[ "$(id -u)" = 0 ] || fail "must run as root (CI runs as root): workers run as another user only under root"
need setpriv /usr/bin/python3
cnbd_tmpdir

port=$(free_port)
conf=$tmp/server.conf
write_config "$conf" "$port" disk backend=memory size=1M

# wait_gone PID SECONDS
wait_gone() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ -d "/proc/$1" ] || return 0
		[ "$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.1
	done
	return 1
}

connect_one() {
	rm -f "$tmp/ready"
	hold_client "nbd://127.0.0.1:$port/disk" "$tmp/ready"
	wait_file "$tmp/ready"
	worker=$(wait_worker "$SERVER_PID")
}

# 1. SIGKILL to the master.
start_server "$conf"
connect_one
kill -KILL "$SERVER_PID"
wait_gone "$worker" 3 || fail "worker $worker outlived its SIGKILLed master"
kill "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" 2>/dev/null || true
stop_server

# 2. The unit's bounding set, then the same without CAP_KILL.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$CNBD_SRC/server/nbd-serverd.service")
[ -n "$caps" ] || fail "no CapabilityBoundingSet in the unit"
bset=-all
for c in $caps; do
	c=${c#CAP_}
	bset="$bset,+${c,,}"
done
for variant in unit no-kill; do
	set_=$bset
	[ $variant = no-kill ] && set_=${bset//,+kill/}
	wrapper=$tmp/bounded
	printf '#!/bin/sh\nexec setpriv --bounding-set=%s -- %s "$@"\n' "$set_" "$CNBD_BUILD/nbd-serverd" >"$wrapper"
	chmod 755 "$wrapper"
	: >"$tmp/server.log"
	SERVERD=$wrapper start_server "$conf"
	connect_one
	[ "$(status_field "$SERVER_PID" Uid | cut -f1)" = 0 ] || fail "$variant: master not root"
	start=$(date +%s)
	kill -TERM "$SERVER_PID"
	wait_gone "$SERVER_PID" 10 || fail "$variant: the master did not exit within 10 s of SIGTERM"
	rc=0
	wait "$SERVER_PID" || rc=$?
	[ $rc = 0 ] || fail "$variant: the master exited $rc"
	wait_gone "$worker" 3 || fail "$variant: worker $worker outlived the master"
	if [ $variant = unit ]; then
		grep -q "cannot send\|did not end" "$tmp/server.log" &&
			fail "unit: the unit's capabilities were not enough to end the workers"
		[ $(( $(date +%s) - start )) -le 2 ] || fail "unit: shutdown took more than 2 s"
	else
		grep -q "cannot send SIGTERM to worker $worker: Operation not permitted" "$tmp/server.log" ||
			fail "no-kill: expected the master to report it could not signal the worker"
	fi
	kill "$HOLD_PID" 2>/dev/null || true
	wait "$HOLD_PID" 2>/dev/null || true
	SERVER_PID=
	log "$variant ok"
done
