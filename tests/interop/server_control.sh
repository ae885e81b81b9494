#!/bin/bash
# The control socket and nbdctl server: the socket is root's (0600) and a
# peer that is not root is refused, both by the file's mode and, once the
# mode is loosened, by SO_PEERCRED (with a log line); list, add, remove,
# remove --force (which ends the export's connections) and reload work;
# bad requests get clear errors; a run-time export survives a reload
# unless the files define its name; a control client that stalls neither
# blocks the master nor stays forever.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

[ "$(id -u)" = 0 ] || fail "must run as root (CI runs as root): the control socket answers root only"
need nbdinfo setpriv /usr/bin/python3
cnbd_tmpdir
NBDCTL=$CNBD_BUILD/nbdctl
ctl=$tmp/control.sock
port=$(free_port)
conf=$tmp/server.conf
mkdir "$tmp/exports.d"
SERVER_CONTROL=$ctl write_server_config "$conf" "127.0.0.1:$port"
printf 'exports-dir = %s\n' "$tmp/exports.d" >>"$conf"
add_export "$conf" disk backend=memory size=1M "description=the first disk"
start_server "$conf"

srv() { "$NBDCTL" server --socket "$ctl" "$@"; }
# expect_fail WANT-RC PATTERN CMD...: CMD exits WANT-RC saying PATTERN.
expect_fail() {
	local want=$1 pat=$2 rc=0
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ $rc = "$want" ] || fail "$* exited $rc, want $want: $(cat "$tmp/out" "$tmp/err")"
	grep -qE -- "$pat" "$tmp/err" || fail "$* did not say /$pat/: $(cat "$tmp/err")"
}
exports() { nbdinfo --list "nbd://127.0.0.1:$port" | sed -n 's/^export="\(.*\)":$/\1/p'; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# The socket: root's, 0600.
[ "$(stat -c '%U %a %F' "$ctl")" = "root 600 socket" ] ||
	fail "control socket is $(stat -c '%U %a %F' "$ctl"), want root 600 socket"

# list
srv list >"$tmp/list" || fail "nbdctl server list failed"
grep -qE '^NAME +BACKEND +CONNS +MAX +DESCRIPTION$' "$tmp/list" || fail "no header: $(cat "$tmp/list")"
grep -qE '^disk +memory +0 +- +the first disk$' "$tmp/list" || fail "list: $(cat "$tmp/list")"

# add
srv add "live one" backend=memory size=2M max-connections=3 "description=added = live" ||
	fail "add failed"
exports | grep -qx "live one" || fail "an added export is not listed by nbdinfo"
[ "$(nbdinfo --size "nbd://127.0.0.1:$port/live%20one")" = 2097152 ] || fail "added export's size"
srv list | grep -qE '^live one +memory +0 +3 +added = live$' || fail "list after add: $(srv list)"
expect_fail 1 "export 'live one' exists \(remove it first\)" srv add "live one" backend=null
expect_fail 1 "export 'x': readonly: 'maybe' is not a boolean" srv add x backend=null readonly=maybe
expect_fail 1 "export 'x' has no backend" srv add x size=1M
expect_fail 1 "'server' names the \[server\] section" srv add server backend=null
expect_fail 1 "nosuch" srv add x backend=nosuch
expect_fail 2 "usage: nbdctl server" srv add x
expect_fail 1 "not KEY=VALUE" srv add x backend
exports | grep -qx x && fail "a refused add left an export"

# A run-time export survives a reload; a file that names it takes over.
srv reload >"$tmp/out" || fail "reload failed"
grep -q "summary: 2 exports: 0 added, 0 changed, 0 removed, 1 unchanged" "$tmp/out" ||
	fail "reload summary: $(cat "$tmp/out")"
exports | grep -qx "live one" || fail "a reload dropped the run-time export"
printf '[live one]\nbackend = memory\nsize = 3M\n' >"$tmp/exports.d/live.conf"
srv reload >/dev/null || fail "reload with live.conf failed"
srv list | grep -qE "^live one +memory +0 +- *$" || fail "the file's definition did not take over: $(srv list)"
rm "$tmp/exports.d/live.conf"
srv reload >/dev/null
exports | grep -qx "live one" && fail "an export the files defined outlived its file"
srv add "live one" backend=memory size=2M || fail "add 'live one' again"

# remove, and remove --force
srv add gone backend=memory size=1M || fail "add gone"
srv remove gone >"$tmp/out" || fail "remove failed"
grep -qx "connections: 0" "$tmp/out" || fail "remove said: $(cat "$tmp/out")"
exports | grep -qx gone && fail "a removed export is still listed"
expect_fail 1 "no export named 'gone'" srv remove gone
expect_fail 2 "usage" srv remove disk --now
hold_client "nbd://127.0.0.1:$port/disk" "$tmp/ready"
wait_file "$tmp/ready"
worker=$(wait_worker "$SERVER_PID")
srv list | grep -qE '^disk +memory +1 ' || fail "the held export shows no connection: $(srv list)"
srv remove disk --force >"$tmp/out" || fail "remove --force failed"
grep -qx "ended: 1" "$tmp/out" || fail "remove --force said: $(cat "$tmp/out")"
for i in $(seq 1 50); do
	[ -d "/proc/$worker" ] || break
	sleep 0.1
done
[ -d "/proc/$worker" ] && fail "remove --force left worker $worker running"
grep -q "control: export 'disk' removed; --force: SIGTERM to 1 worker" "$tmp/server.log" ||
	fail "no log line for remove --force"
kill "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" 2>/dev/null || true

# Bad requests, straight to the socket (escapes in the argument: \n).
raw() {
	/usr/bin/python3 - "$ctl" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].replace("\\n", "\n").encode())
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
    if out.endswith(b"ok\n") or (b"error: " in out and out.endswith(b"\n")):
        break
sys.stdout.write(out.decode())
PY
}
[ "$(raw 'bogus\n')" = "error: unknown request 'bogus' (known: list, add, remove, reload, stats, commit, reset)" ] ||
	fail "unknown verb: $(raw 'bogus\n')"
raw '\n' | grep -q "^error: empty request" || fail "empty line: $(raw '\n')"
[ "$(raw 'list extra\n')" = "error: usage: list" ] || fail "list with arguments: $(raw 'list extra\n')"
raw 'add x%ZZ backend=null\n' | grep -q "^error: bad %-escape" || fail "bad escape"
long=$(head -c 20000 /dev/zero | tr '\0' a)
[ "$(raw "$long")" = "error: request longer than 16383 bytes" ] || fail "overlong request"

# Not root: the mode keeps nobody out ...
expect_fail 1 "cannot reach nbd-serverd at $ctl: Permission denied" as_nobody "$NBDCTL" server --socket "$ctl" list
# ... and if someone loosens it, SO_PEERCRED still does.
chmod 0666 "$ctl"
expect_fail 1 "permission denied: only root may use nbd-serverd's control socket" \
	as_nobody "$NBDCTL" server --socket "$ctl" list
grep -qE "control: refused a request from pid [0-9]+ uid $(id -u nobody): only root" "$tmp/server.log" ||
	fail "the refused peer was not logged"
chmod 0600 "$ctl"

# A stalled control client blocks nobody, and is closed after 10 s.
/usr/bin/python3 - "$ctl" "$tmp/stalled" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"li")                      # half a request, then nothing
t0 = time.monotonic()
s.settimeout(30)
try:
    d = s.recv(100)
except OSError:
    d = b"?"
open(sys.argv[2], "w").write("%.1f %r\n" % (time.monotonic() - t0, d))
PY
stalled=$!
sleep 0.5
timeout 5 "$NBDCTL" server --socket "$ctl" list >/dev/null || fail "a stalled control client blocked the master"
nbdinfo "nbd://127.0.0.1:$port/live%20one" >/dev/null || fail "a stalled control client blocked serving"
wait "$stalled" || fail "the stalled client failed"
read -r secs rest <"$tmp/stalled"
[ "$rest" = "b''" ] || fail "the stalled client got $rest"
awk -v s="$secs" 'BEGIN { exit !(s >= 9 && s <= 12) }' || fail "stalled client closed after $secs s, want about 10"
log "stalled control client closed after $secs s"

server_alive
log "ok"
