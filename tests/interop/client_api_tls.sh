#!/bin/bash
# The public client API over TLS, from a program built against the
# installed library: nbds:// with X.509 (tls-certificates=DIR, the client's
# certificate offered) and PSK (nbds://alice@... and tls-username=alice with
# tls-psk-file=FILE), and nbds+unix://, to nbd-serverd (tls = require) and to
# nbdkit (--tls=require, --tls-verify-peer): data written with requests in
# flight reads back the same, lists and infos work. Refused, each with a
# sentence: a server certificate from another CA (accepted with
# tls-verify-peer=false), an unknown PSK identity, and plaintext to a
# TLS-only server (EACCES, the server's TLS_REQD).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/../lib/client_api.sh"

need nbdkit certtool psktool
cnbd_tmpdir
make_tls_keys "$tmp/tls"
chmod 600 "$tmp/tls/pki/server-key.pem" "$tmp/tls/keys.psk"
client_api_build
head -c $((3 << 20)) /dev/urandom >"$tmp/data"

roundtrip() {	# WHAT URI
	tool -n 16 -c 65536 "$2" write 4096 "$tmp/data" >"$tmp/out" || fail "$1: write: $(cat "$tmp/out")"
	tool "$2" read 4096 $((3 << 20)) "$tmp/back" >"$tmp/out" || fail "$1: read: $(cat "$tmp/out")"
	cmp -s "$tmp/data" "$tmp/back" || fail "$1: data read back over TLS differs"
	log "$1: ok"
}

refused() {	# WHAT ERRNO TEXT URI
	if tool "$4" info >"$tmp/out"; then
		fail "$1: connected"
	fi
	grep -q "^errno=$2: .*$3" "$tmp/out" || fail "$1: should fail with $2 ($3): $(cat "$tmp/out")"
	log "$1: refused: $(cat "$tmp/out")"
}

# ---- nbd-serverd: X.509 and PSK, TCP and a Unix socket ----
port=$(free_port)
write_server_config "$tmp/serverd.conf" "127.0.0.1:$port" "unix:$tmp/serverd.sock"
cat >>"$tmp/serverd.conf" <<EOF
tls = require
tls-certificates = $tmp/tls/pki
tls-psk-file = $tmp/tls/keys.psk
EOF
add_export "$tmp/serverd.conf" disk backend=memory size=16M "description=behind TLS"
add_export "$tmp/serverd.conf" other backend=memory size=1M
start_server "$tmp/serverd.conf"
certs=tls-certificates=$tmp/tls/client
roundtrip "nbd-serverd X.509" "nbds://localhost:$port/disk?$certs"
roundtrip "nbd-serverd PSK" "nbds://alice@127.0.0.1:$port/disk?tls-psk-file=$tmp/tls/keys.psk"
roundtrip "nbd-serverd PSK, tls-username" \
	"nbds://127.0.0.1:$port/disk?tls-psk-file=$tmp/tls/keys.psk&tls-username=alice"
roundtrip "nbd-serverd X.509 over Unix" "nbds+unix:///disk?socket=$tmp/serverd.sock&$certs"
tool "nbds://localhost:$port/?$certs" list >"$tmp/list" || fail "list over TLS: $(cat "$tmp/list")"
[ "$(sort "$tmp/list")" = "$(printf 'disk\tbehind TLS\nother\t')" ] ||
	fail "list over TLS: $(cat "$tmp/list")"
tool "nbds://localhost:$port/disk?$certs" info >"$tmp/info" || fail "info over TLS"
grep -qx "description=behind TLS" "$tmp/info" || fail "info over TLS: $(cat "$tmp/info")"

refused "nbd-serverd, plaintext" EACCES "NBD_REP_ERR_TLS_REQD" "nbd://127.0.0.1:$port/disk"
refused "nbd-serverd, another CA" EACCES "does not verify against $tmp/tls/badca for host localhost" \
	"nbds://localhost:$port/disk?tls-certificates=$tmp/tls/badca"
roundtrip "nbd-serverd, another CA, tls-verify-peer=false" \
	"nbds://localhost:$port/disk?tls-certificates=$tmp/tls/badca&tls-verify-peer=false"
psktool -u mallory -p "$tmp/mallory.psk" >/dev/null 2>&1 || fail "psktool failed"
refused "nbd-serverd, unknown PSK identity" EPROTO "TLS" \
	"nbds://mallory@127.0.0.1:$port/disk?tls-psk-file=$tmp/mallory.psk"
refused "nbd-serverd, no key for the identity" EINVAL "holds no usable key for 'bob'" \
	"nbds://bob@127.0.0.1:$port/disk?tls-psk-file=$tmp/tls/keys.psk"
server_alive

# ---- nbdkit: X.509 with a client certificate required, and PSK ----
start_nbdkit() {	# PORT ARGS...
	local p=$1
	shift
	nbdkit -f -p "$p" --ipaddr 127.0.0.1 --tls=require "$@" memory 16M \
		>"$tmp/nbdkit-$p.log" 2>&1 &
	kill_on_exit $!
	wait_tcp "$p"
}
port=$(free_port)
start_nbdkit "$port" --tls-certificates="$tmp/tls/pki" --tls-verify-peer
roundtrip "nbdkit X.509, client certificate" "nbds://localhost:$port/?$certs"
mkdir -p "$tmp/nocert" && cp "$tmp/tls/client/ca-cert.pem" "$tmp/nocert/"
# nbdkit ends the handshake: an alert, or the connection reset, by timing.
refused "nbdkit, no client certificate" '\(EPROTO\|ECONNRESET\)' "" \
	"nbds://localhost:$port/?tls-certificates=$tmp/nocert"
port=$(free_port)
start_nbdkit "$port" --tls-psk="$tmp/tls/keys.psk"
roundtrip "nbdkit PSK" "nbds://alice@127.0.0.1:$port/?tls-psk-file=$tmp/tls/keys.psk"
refused "nbdkit, plaintext" EACCES "TLS_REQD" "nbd://127.0.0.1:$port/"
log "ok"
