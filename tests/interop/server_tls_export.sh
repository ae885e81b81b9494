#!/bin/bash
# A per-export "tls = require" on a server with tls = on: the export is
# left out of a plaintext LIST (not even its name goes out in the clear)
# and refused in plaintext (GO and INFO get NBD_REP_ERR_TLS_REQD,
# EXPORT_NAME is closed), while the server's other export is served in
# plaintext; over TLS both are listed and served.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"

need nbdinfo nbdcopy /usr/bin/python3 cmp
tls_setup

port=$(free_port)
conf=$tmp/server.conf
tls_config "$conf" "$port" tls=on "tls-certificates=$tmp/tls/pki"
add_export "$conf" secret backend=memory size=4M tls=require description=tls-only
add_export "$conf" open backend=memory size=4M description=plaintext-too
start_server "$conf"

nbdinfo --list "nbd://127.0.0.1:$port/" >"$tmp/plain" 2>&1 || fail "plaintext list failed: $(cat "$tmp/plain")"
grep -q 'export="open"' "$tmp/plain" || fail "plaintext list lacks 'open': $(cat "$tmp/plain")"
grep -q 'secret\|tls-only' "$tmp/plain" && fail "plaintext list shows the TLS-only export: $(cat "$tmp/plain")"
nbdinfo --list "nbds://127.0.0.1:$port/?tls-certificates=$tmp/tls/client" >"$tmp/tls.list" ||
	fail "list over TLS failed"
grep -q 'export="secret"' "$tmp/tls.list" && grep -q 'export="open"' "$tmp/tls.list" ||
	fail "list over TLS does not show both exports: $(cat "$tmp/tls.list")"

if nbdinfo "nbd://127.0.0.1:$port/secret" >"$tmp/out" 2>&1; then
	fail "the TLS-only export was served in plaintext"
fi
head -c 4M /dev/urandom >"$tmp/in"
nbdcopy "$tmp/in" "nbd://127.0.0.1:$port/open" || fail "plaintext write to 'open' failed"
nbdcopy "nbd://127.0.0.1:$port/open" "$tmp/out" || fail "plaintext read of 'open' failed"
cmp "$tmp/in" "$tmp/out" || fail "'open' read back in plaintext differs"
nbdcopy "$tmp/in" "$(x509_uri "$port" secret)" || fail "write to 'secret' over TLS failed"
nbdcopy "$(x509_uri "$port" secret)" "$tmp/out2" || fail "read of 'secret' over TLS failed"
cmp "$tmp/in" "$tmp/out2" || fail "'secret' read back over TLS differs"

raw_check "$port" "
c = connect_tcp(port)
c.handshake()
names = [n for n, d in c.opt_list()]
assert names == ['open'], 'plaintext LIST: %r' % names
for opt in (OPT_INFO, OPT_GO):
    r = c.opt_info('secret', option=opt)[-1]
    assert r.type == REP_ERR_TLS_REQD, 'option %d for secret: %#x' % (opt, r.type)
r = c.opt_go('open')[-1]
assert r.type == REP_ACK, 'GO open in plaintext: %#x' % r.type
c.disconnect()

c = connect_tcp(port)
c.handshake()
c.send_option(OPT_EXPORT_NAME, b'secret')
assert c.closed_within(5), 'EXPORT_NAME secret in plaintext was not closed'
"
server_alive
log "ok: a tls = require export is hidden from and refused to plaintext clients; its neighbour is served in plaintext"
