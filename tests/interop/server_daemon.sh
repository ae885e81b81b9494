#!/bin/bash
# Without -f nbd-serverd goes to the background: the command returns 0
# only once the daemon is ready, the pid file names the daemon, which
# runs in its own session with cwd / and stdio on /dev/null, serves, and
# removes the pid file when SIGTERM ends it. A bad configuration is still
# reported on stderr with exit 1, before anything is forked.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

need nbdinfo
cnbd_tmpdir

port=$(free_port)
conf=$tmp/server.conf
write_server_config "$conf" "127.0.0.1:$port"
echo "pidfile = $tmp/nbd-serverd.pid" >>"$conf"	# still in [server]
add_export "$conf" disk backend=memory size=2M

rc=0
(cd "$tmp" && timeout 10 "$SERVERD" -c "$conf") >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc = 0 ] || fail "nbd-serverd (daemon mode) exited $rc: $(cat "$tmp/err")"
[ -s "$tmp/nbd-serverd.pid" ] || fail "no pid file once the starting process returned"
pid=$(cat "$tmp/nbd-serverd.pid")
_cnbd_server_pids+=("$pid")	# stopped by common.sh's exit trap if we fail
[ -d "/proc/$pid" ] || fail "the pid file names $pid, which does not run"
[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$SERVERD")" ] ||
	fail "pid $pid is $(readlink "/proc/$pid/exe"), not nbd-serverd"
read -r -a stat <<<"$(sed 's/^.*) //' "/proc/$pid/stat")"
[ "${stat[3]}" = "$pid" ] || fail "the daemon is not a session leader (sid ${stat[3]})"
[ "$(readlink "/proc/$pid/cwd")" = / ] || fail "the daemon's cwd is $(readlink "/proc/$pid/cwd"), not /"
for fd in 0 1 2; do
	[ "$(readlink "/proc/$pid/fd/$fd")" = /dev/null ] ||
		fail "the daemon's fd $fd is $(readlink "/proc/$pid/fd/$fd"), not /dev/null"
done

nbdinfo "nbd://127.0.0.1:$port/disk" >"$tmp/info" || fail "nbdinfo against the daemon failed"
grep -q 'export-size: 2097152' "$tmp/info" || fail "unexpected nbdinfo output: $(cat "$tmp/info")"

kill -TERM "$pid"
for i in $(seq 1 50); do
	[ -d "/proc/$pid" ] || break
	sleep 0.1
done
[ -d "/proc/$pid" ] && fail "the daemon ignored SIGTERM for 5 s"
[ ! -e "$tmp/nbd-serverd.pid" ] || fail "the pid file remains after SIGTERM"

# Errors before daemonizing: on stderr, exit 1.
printf '[server]\nlisten = 127.0.0.1:%s\nbogus = 1\n[a]\nbackend = null\n' "$port" >"$tmp/bad.conf"
rc=0
timeout 10 "$SERVERD" -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc = 1 ] || fail "a bad config in daemon mode exited $rc, want 1"
grep -q "$tmp/bad.conf:3: unknown key 'bogus' in \[server\]" "$tmp/err" ||
	fail "the config error is not on stderr: $(cat "$tmp/err")"
log "ok"
