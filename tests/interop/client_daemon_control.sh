#!/bin/bash
# nbd-clientd's control socket and devices file, without a kernel device:
# the daemon runs with -M (no module load) and a devices file naming a
# device no host has (nbd999), so nothing is ever bound here. Checked:
# file:line errors, root only (socket mode and SO_PEERCRED), one daemon
# per socket and stale sockets replaced, list/detach/udev-add/udev-name,
# nbdctl's refusals, SIGTERM.
. "$(dirname "$0")/../lib/common.sh"

need setpriv python3
[ "$(id -u)" = 0 ] || fail "needs root (nbd-clientd runs as root)"
CLIENTD=$CNBD_BUILD/nbd-clientd
NBDCTL=$CNBD_BUILD/nbdctl
[ -x "$CLIENTD" ] && [ -x "$NBDCTL" ] || fail "nbd-clientd or nbdctl is not built"
cnbd_tmpdir
sock=$tmp/run/clientd.sock
daemon_pid=
stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=
}
trap 'rc=$?; stop_daemon; (exit $rc); _cnbd_cleanup' EXIT
ctl() { "$NBDCTL" --socket "$sock" "$@"; }

# A bad devices file: the daemon refuses to start, naming file and line.
printf '[nbd999]\nuri = nbd://h/d\nconnections = lots\n' > "$tmp/bad.conf"
"$CLIENTD" -f -M -c "$tmp/bad.conf" -s "$sock" 2> "$tmp/err" && fail "started with a bad devices file"
grep -q "$tmp/bad.conf:3: connections = 'lots'" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
"$CLIENTD" -f -M -c "$tmp/missing.conf" -s "$sock" 2> "$tmp/err" && fail "started without its -c file"
grep -q "missing.conf: No such file" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
# Not root: refused.
setpriv --reuid=65534 --regid=65534 --clear-groups "$CLIENTD" -f -M -s "$tmp/x.sock" 2> "$tmp/err" &&
	fail "started as nobody"
grep -q "must run as root" "$tmp/err" || fail "unclear error as nobody: $(cat "$tmp/err")"

# A stale socket file (a daemon that died) is replaced.
mkdir -p "$tmp/run"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
[ -S "$sock" ] || fail "could not make a stale socket"
cat > "$tmp/devices.conf" <<CONF
; a device no host has: never bound (with ioctl, which cannot make one)
[nbd999]
uri = nbd://127.0.0.1:1/disk%20one
timeout = 5
binding = ioctl
CONF
"$CLIENTD" -f -M -v -c "$tmp/devices.conf" -s "$sock" 2> "$tmp/clientd.log" &
daemon_pid=$!
for i in $(seq 1 100); do ctl list > /dev/null 2>&1 && break; sleep 0.1; done
ctl list > /dev/null || fail "the daemon does not answer: $(cat "$tmp/clientd.log")"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock"), want 600"

# One daemon per socket.
"$CLIENTD" -f -M -c "$tmp/devices.conf" -s "$sock" 2> "$tmp/err" && fail "a second daemon started"
grep -q "cannot listen on $sock: another process is listening there" "$tmp/err" || fail "unclear: $(cat "$tmp/err")"

# Root only, even if the socket's mode is loosened.
chmod 0777 "$tmp/run"
setpriv --reuid=65534 --regid=65534 --clear-groups "$NBDCTL" --socket "$sock" list 2> "$tmp/err" &&
	fail "nobody could use the control socket"
chmod 0666 "$sock"
setpriv --reuid=65534 --regid=65534 --clear-groups "$NBDCTL" --socket "$sock" list 2> "$tmp/err" &&
	fail "nobody could use a loosened control socket"
grep -q "permission denied (nbd-clientd answers root only)" "$tmp/err" ||
	fail "SO_PEERCRED refusal unclear: $(cat "$tmp/err")"
chmod 0600 "$sock"

# The devices-file entry waits for its device, saying why.
out=$(ctl list)
grep -Eq '^nbd999 +waiting +ioctl +0 +1 +0 +off +nbd://127.0.0.1:1/disk%20one$' <<<"$out" || fail "list: $out"
grep -q "last error: /dev/nbd999 does not exist" <<<"$out" || fail "list lacks the reason: $out"

# udev-add answers at once; udev-name knows no name for an unbound device.
ctl udev-add nbd999 || fail "udev-add failed"
grep -q "udev-add nbd999: 1 waiting device(s) told" "$tmp/clientd.log" || fail "udev-add did not reach the device"
ctl udev-name nbd999 > "$tmp/out" 2> "$tmp/err" && fail "udev-name named an unbound device: $(cat "$tmp/out")"
grep -q "no export name known for nbd999" "$tmp/err" || fail "udev-name: $(cat "$tmp/err")"

# nbdctl refuses bad input itself, and the daemon refuses what it must.
ctl attach 'nbd://host/a b' 2> "$tmp/err" && fail "attach took a bad URI"
grep -q "must be percent-encoded" "$tmp/err" || fail "attach: $(cat "$tmp/err")"
rc=0; ctl attach nbd://127.0.0.1:1/x --device sda 2> "$tmp/err" || rc=$?
[ $rc = 2 ] || fail "attach --device sda: exit $rc, not a usage error"
rc=0; ctl attach nbd://127.0.0.1:1/x --binding ioctls 2> "$tmp/err" || rc=$?
[ $rc = 2 ] || fail "attach --binding ioctls: exit $rc, not a usage error"
rc=0; ctl attach nbd://127.0.0.1:1/x --dead-timeout 2m 2> "$tmp/err" || rc=$?
[ $rc = 2 ] || fail "attach --dead-timeout 2m: exit $rc, not a usage error"
# The daemon checks the control protocol's words itself.
python3 - "$sock" > "$tmp/out" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"attach nbd://127.0.0.1:1/x binding=ioctls\n")
print(s.makefile().read(), end="")
PY
grep -q "error: bad attach option 'binding=ioctls'" "$tmp/out" || fail "attach binding=ioctls: $(cat "$tmp/out")"
ctl attach nbd://127.0.0.1:1/x --device nbd999 2> "$tmp/err" && fail "attached a device the daemon already manages"
grep -q "nbd999 is already managed by nbd-clientd" "$tmp/err" || fail "attach: $(cat "$tmp/err")"
ctl attach nbd://127.0.0.1:1/x --device nbd998 --binding ioctl 2> "$tmp/err" &&
	fail "attached a device that does not exist"
grep -q "/dev/nbd998 does not exist" "$tmp/err" || fail "attach: $(cat "$tmp/err")"
ctl detach nbd5 2> "$tmp/err" && fail "detached a device the daemon never attached"
grep -q "nbd5 is not attached by nbd-clientd" "$tmp/err" || fail "detach: $(cat "$tmp/err")"
rc=0; ctl frobnicate 2> /dev/null || rc=$?
[ $rc = 2 ] || fail "an unknown command: exit $rc, not a usage error"

# Detach stops the supervisor of the waiting entry.
ctl detach nbd999 || fail "detach nbd999 failed"
[ -z "$(ctl list)" ] || fail "list not empty after detach: $(ctl list)"

# SIGTERM: a clean exit that removes the socket.
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "nbd-clientd exited with $? on SIGTERM"
daemon_pid=
[ -e "$sock" ] && fail "the socket is left behind"

# Without a daemon, udev-add says so and still succeeds, at once.
start=$(date +%s%N)
ctl udev-add nbd0 2> "$tmp/err" || fail "udev-add without a daemon failed"
grep -q "cannot reach nbd-clientd" "$tmp/err" || fail "udev-add: $(cat "$tmp/err")"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000 ] || fail "udev-add without a daemon was slow"
log "ok"
