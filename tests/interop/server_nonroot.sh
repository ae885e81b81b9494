#!/bin/bash
# Started by an ordinary user, the server warns once that it cannot drop
# privileges, skips the root-only checks (a backend dir it may write is
# fine: it runs nothing as root), idles without using CPU (it has no
# control socket), and otherwise serves the same. Run as
# root, the test starts the server as nobody with setpriv; as any other
# user it starts it directly.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

need nbdinfo setpriv /usr/bin/python3
cnbd_tmpdir

port=$(free_port)
dir=$tmp/backends
mkdir "$dir"
cp "$CNBD_BUILD/backends/memory.so" "$dir/"
chmod 777 "$dir"	# refused as root; fine for an ordinary user
conf=$tmp/server.conf
printf '[server]\nlisten = 127.0.0.1:%s\nbackend-dir = %s\n\n[disk]\nbackend = memory\nsize = 1M\n' \
	"$port" "$dir" >"$conf"
chmod 644 "$conf"

if [ "$(id -u)" = 0 ]; then
	uid=$(id -u nobody)
	wrapper=$tmp/as-nobody
	printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=%s --clear-groups --inh-caps=-all --bounding-set=-all -- %s "$@"\n' \
		"$(id -g nobody)" "$CNBD_BUILD/nbd-serverd" >"$wrapper"
	chmod 755 "$wrapper"
	SERVERD=$wrapper
else
	uid=$(id -u)
fi
start_server "$conf"
grep -q "warning: not running as root: workers keep this user's privileges (no privilege drop)" \
	"$tmp/server.log" || fail "no warning about running without root"
[ "$(grep -c 'not running as root' "$tmp/server.log")" = 1 ] || fail "the warning is not said exactly once"
[ "$(status_field "$SERVER_PID" Uid | cut -f1)" = "$uid" ] || fail "the server does not run as uid $uid"
# Without a control socket (none by default for a non-root server) the
# master once spun on poll(): its unused slots looked due at once.
ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
before=$(ticks)
sleep 2
spent=$(( $(ticks) - before ))
[ "$spent" -le 20 ] || fail "the idle master used $spent ticks of CPU in 2 s"

hold_client "nbd://127.0.0.1:$port/disk" "$tmp/ready"
wait_file "$tmp/ready"
worker=$(wait_worker "$SERVER_PID")
[ "$(status_field "$worker" Uid | cut -f1)" = "$uid" ] || fail "the worker does not run as uid $uid"
nbdinfo --size "nbd://127.0.0.1:$port/disk" >"$tmp/size" || fail "nbdinfo failed"
[ "$(cat "$tmp/size")" = 1048576 ] || fail "size $(cat "$tmp/size")"
grep -qE "exited with status 2|privilege drop( to|:)" "$tmp/server.log" &&
	fail "a worker tried to drop privileges it does not have"
kill "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" 2>/dev/null || true
log "ok"
