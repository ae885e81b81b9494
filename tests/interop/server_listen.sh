#!/bin/bash
# Listening addresses: IPv4, IPv6 ([::1]:PORT), every address (*:PORT,
# IPv4 and IPv6 side by side) and Unix sockets with their mode (0666 by
# default, unix-mode = 0660 when given). A socket file left by a killed
# server is replaced; one a live server answers on is not, and neither is
# a busy TCP port: both refuse to start with the reason, exit 1.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

need nbdinfo
cnbd_tmpdir

p1=$(free_port)
p2=$(free_port)
sock=$tmp/nbd.sock
conf=$tmp/server.conf
write_server_config "$conf" "127.0.0.1:$p1" "[::1]:$p1" "unix:$sock" "*:$p2"
add_export "$conf" disk backend=memory size=1M
start_server "$conf"

for uri in "nbd://127.0.0.1:$p1/disk" "nbd://[::1]:$p1/disk" \
	   "nbd://127.0.0.1:$p2/disk" "nbd://[::1]:$p2/disk" \
	   "nbd+unix:///disk?socket=$sock"; do
	nbdinfo --size "$uri" >"$tmp/size" || fail "nbdinfo $uri failed"
	[ "$(cat "$tmp/size")" = 1048576 ] || fail "$uri: size $(cat "$tmp/size")"
done
[ "$(stat -c %a "$sock")" = 666 ] || fail "unix socket mode $(stat -c %a "$sock"), want 666"
for a in "127.0.0.1:$p1" "\[::1\]:$p1" "0.0.0.0:$p2" "\[::\]:$p2" "unix:$sock"; do
	grep -q "listening on $a\$" "$tmp/server.log" || fail "no 'listening on $a' line"
done

# A second server on the same socket path or port is refused.
write_server_config "$tmp/second.conf" "unix:$sock"
add_export "$tmp/second.conf" disk backend=memory size=1M
refuse_start "$tmp/second.conf" "cannot listen on $sock: another process is listening there"
write_server_config "$tmp/third.conf" "127.0.0.1:$p1"
add_export "$tmp/third.conf" disk backend=memory size=1M
refuse_start "$tmp/third.conf" "cannot listen on 127.0.0.1:$p1: Address already in use"
[ -S "$sock" ] || fail "a refused server removed the live server's socket"
nbdinfo --size "nbd+unix:///disk?socket=$sock" >/dev/null || fail "the first server stopped answering"

# A killed server leaves its socket file; the next start replaces it.
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
[ -S "$sock" ] || fail "expected a stale socket file after SIGKILL"
p3=$(free_port)
write_server_config "$conf" "unix:$sock" "127.0.0.1:$p3"
echo "unix-mode = 0660" >>"$conf"
add_export "$conf" disk backend=memory size=1M
start_server "$conf"
nbdinfo --size "nbd+unix:///disk?socket=$sock" >/dev/null || fail "no service on the replaced socket"
[ "$(stat -c %a "$sock")" = 660 ] || fail "unix socket mode $(stat -c %a "$sock"), want 660"

# Not a socket: refused, left alone.
: >"$tmp/plain"
write_server_config "$tmp/plain.conf" "unix:$tmp/plain"
add_export "$tmp/plain.conf" disk backend=memory size=1M
refuse_start "$tmp/plain.conf" "cannot listen on $tmp/plain: it exists and is not a socket"
[ -f "$tmp/plain" ] || fail "the refused server removed a regular file"
log "ok"
