#!/bin/bash
# TLS settings that are wrong stop the server at start (exit 1, file:line,
# before it listens); a reload switches TLS on, re-reads the credentials
# (a certificate renewed in place is served after the reload, not before),
# and is all or nothing: bad credentials change nothing. Run-time exports
# that require TLS are refused while TLS is off, and keep a reload from
# turning it off.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"

[ "$(id -u)" = 0 ] || fail "must run as root (CI runs as root): the control socket answers root only"
need nbdinfo timeout
tls_setup
NBDCTL=$CNBD_BUILD/nbdctl
ctl=$tmp/control.sock

# start_fails PATTERN CONF: the server exits 1 at start saying PATTERN.
start_fails() {
	local rc=0
	timeout 20 "$SERVERD" -f -c "$2" >"$tmp/start.out" 2>&1 || rc=$?
	[ $rc = 1 ] || fail "exit status $rc, want 1, for $2: $(cat "$tmp/start.out")"
	grep -qF -- "$1" "$tmp/start.out" || fail "start-up did not say '$1': $(cat "$tmp/start.out")"
	grep -q "listening on" "$tmp/start.out" && fail "the server listened before refusing $2"
	return 0
}

# FILE:LINE of the first "KEY =" line of FILE.
at() { echo "$1:$(grep -n "^$2 =" "$1" | head -n 1 | cut -d: -f1)"; }
bad=$tmp/bad.conf
port=$(free_port)
tls_config "$bad" "$port" tls=on
add_export "$bad" disk backend=null
start_fails "$(at "$bad" tls): tls = on needs tls-certificates or tls-psk-file" "$bad"
tls_config "$bad" "$port"
add_export "$bad" disk backend=null tls=require
start_fails "$(at "$bad" tls): export 'disk': tls = require, but the server has tls = off" "$bad"
mkdir "$tmp/empty"
tls_config "$bad" "$port" tls=require "tls-certificates=$tmp/empty"
add_export "$bad" disk backend=null
start_fails "$(at "$bad" tls-certificates): tls-certificates: $tmp/empty must hold server-cert.pem and server-key.pem" "$bad"
mkdir "$tmp/garbled"
cp "$tmp/tls/pki/server-cert.pem" "$tmp/garbled/"
echo "not a key" >"$tmp/garbled/server-key.pem"
tls_config "$bad" "$port" tls=require "tls-certificates=$tmp/garbled"
add_export "$bad" disk backend=null
start_fails "$(at "$bad" tls-certificates): tls-certificates: $tmp/garbled/server-cert.pem, $tmp/garbled/server-key.pem: " "$bad"
echo "alice" >"$tmp/bad.psk"
tls_config "$bad" "$port" tls=on "tls-certificates=$tmp/tls/pki" "tls-psk-file=$tmp/bad.psk"
add_export "$bad" disk backend=null
start_fails "$(at "$bad" tls-psk-file): tls-psk-file: $tmp/bad.psk:1: expected identity:hexkey" "$bad"
tls_config "$bad" "$port" tls=on "tls-psk-file=$tmp/tls/keys.psk" tls-verify-peer=yes
add_export "$bad" disk backend=null
start_fails "$(at "$bad" tls-verify-peer): tls-verify-peer needs tls-certificates" "$bad"

# A server without TLS, then reloads.
port=$(free_port)
conf=$tmp/server.conf
write_conf() {	# the [server] tls keys
	tls_config "$conf" "$port" "$@"
	sed -i "s|^control = off$|control = $ctl|" "$conf"
	add_export "$conf" disk backend=memory size=1M
}
reload() { "$NBDCTL" server --socket "$ctl" reload; }
plain_ok() { nbdinfo --size "nbd://127.0.0.1:$port/disk" >/dev/null 2>&1; }
tls_ok() {	# CLIENT-DIR
	nbdinfo --size "nbds://127.0.0.1:$port/disk?tls-certificates=$1" >/dev/null 2>&1
}
write_conf
start_server "$conf"
plain_ok || fail "plaintext refused with tls = off"
tls_ok "$tmp/tls/client" && fail "TLS served with tls = off"

write_conf tls=require "tls-certificates=$tmp/tls/pki"
reload >/dev/null || fail "reload to tls = require failed"
grep -q "reload: TLS require: X.509 from $tmp/tls/pki (credentials read again)" \
	"$tmp/server.log" || fail "the reload does not log the new TLS setting"
plain_ok && fail "plaintext served after a reload to tls = require"
tls_ok "$tmp/tls/client" || fail "TLS refused after a reload to tls = require"

# All or nothing: a key that does not load leaves the running setup.
write_conf tls=require "tls-certificates=$tmp/garbled"
if reload >"$tmp/out" 2>&1; then
	fail "a reload with a garbled key succeeded"
fi
grep -qF "$(at "$conf" tls-certificates): tls-certificates: $tmp/garbled/server-cert.pem" "$tmp/out" ||
	fail "the failed reload does not say why with file:line: $(cat "$tmp/out")"
tls_ok "$tmp/tls/client" || fail "TLS no longer works after a failed reload"
plain_ok && fail "plaintext served after a failed reload"

# Renewal in place: new CA, new server certificate, same paths.
write_conf tls=require "tls-certificates=$tmp/tls/pki"
make_tls_keys "$tmp/tls2"
cp "$tmp/tls2/pki/"{ca-cert.pem,server-cert.pem,server-key.pem} "$tmp/tls/pki/"
tls_ok "$tmp/tls/client" || fail "the loaded credentials changed before the reload"
tls_ok "$tmp/tls2/client" && fail "the renewed certificate was served before the reload"
reload >/dev/null || fail "reload after the renewal failed"
tls_ok "$tmp/tls2/client" || fail "the renewed certificate is not served after the reload"
tls_ok "$tmp/tls/client" && fail "the old certificate is still served after the reload"

# A run-time export that requires TLS keeps TLS on...
"$NBDCTL" server --socket "$ctl" add vault backend=memory size=1M tls=require ||
	fail "adding a tls = require export at run time failed"
write_conf
if reload >"$tmp/out" 2>&1; then
	fail "a reload turned TLS off under a run-time tls = require export"
fi
grep -q "tls = off, but export 'vault' (added at run time) requires TLS: remove it first" \
	"$tmp/out" || fail "unclear refusal: $(cat "$tmp/out")"
tls_ok "$tmp/tls2/client" || fail "TLS broken by the refused reload"
"$NBDCTL" server --socket "$ctl" remove vault >/dev/null || fail "remove vault failed"
reload >/dev/null || fail "reload to tls = off failed"
grep -q "reload: TLS off" "$tmp/server.log" || fail "turning TLS off is not logged"
plain_ok || fail "plaintext refused after a reload to tls = off"
# ... and cannot be added while TLS is off.
if "$NBDCTL" server --socket "$ctl" add vault backend=memory size=1M tls=require \
	2>"$tmp/err"; then
	fail "a tls = require export was added to a server without TLS"
fi
grep -q "export 'vault': tls = require, but the server has tls = off" "$tmp/err" ||
	fail "unclear refusal: $(cat "$tmp/err")"
server_alive
log "ok: start-up errors with file:line; reloads switch TLS, re-read credentials, change nothing on error"
