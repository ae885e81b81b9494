#!/bin/bash
# The three values of [server] tls, seen from clients:
#   require  plaintext nbdinfo fails; on the wire GO and LIST get
#            NBD_REP_ERR_TLS_REQD (0x80000005), EXPORT_NAME is closed,
#            STARTTLS is ACKed and a TLS handshake follows (Python's ssl
#            module, verifying the certificate), after which GO is served
#   on       plaintext and TLS clients are both served
#   off      STARTTLS gets NBD_REP_ERR_POLICY; nbds:// fails, nbd:// works
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"

need nbdinfo /usr/bin/python3
tls_setup

serve() {	# MODE: starts a server; sets port
	port=$(free_port)
	tls_config "$tmp/$1.conf" "$port" "tls=$1" "tls-certificates=$tmp/tls/pki"
	add_export "$tmp/$1.conf" disk backend=memory size=1M
	start_server "$tmp/$1.conf"
}

serve require
if nbdinfo "nbd://127.0.0.1:$port/disk" >"$tmp/out" 2>&1; then
	fail "tls = require served a plaintext client"
fi
nbdinfo --size "$(x509_uri "$port" disk)" >/dev/null || fail "tls = require refused a TLS client"
raw_check "$port" "
import socket, ssl
c = connect_tcp(port)
c.handshake()
r = c.opt_go('disk')[-1]
assert r.type == REP_ERR_TLS_REQD == 0x80000005, 'GO before STARTTLS: %#x' % r.type
print('GO in plaintext:', hex(r.type), r.data.decode(errors='replace'))
c.send_option(OPT_LIST)
r = c.read_reply()
assert r.type == REP_ERR_TLS_REQD, 'LIST before STARTTLS: %#x' % r.type
c.send_option(OPT_STARTTLS)
r = c.read_reply()
assert r.option == OPT_STARTTLS and r.type == REP_ACK, 'STARTTLS: %#x' % r.type
ctx = ssl.create_default_context(cafile='$tmp/tls/client/ca-cert.pem')
c.sock = ctx.wrap_socket(c.sock, server_hostname='localhost')
r = c.opt_go('disk')[-1]
assert r.type == REP_ACK, 'GO after STARTTLS: %#x' % r.type
assert c.cmd(CMD_READ, 0, 512)[0] == 0
c.disconnect()

c = connect_tcp(port)
c.handshake()
c.send_option(OPT_EXPORT_NAME, b'disk')
assert c.closed_within(5), 'EXPORT_NAME before STARTTLS was not closed'
"
stop_server

serve on
nbdinfo --size "nbd://127.0.0.1:$port/disk" >/dev/null || fail "tls = on refused a plaintext client"
nbdinfo "$(x509_uri "$port" disk)" >"$tmp/out" || fail "tls = on refused a TLS client"
grep -q "with TLS" "$tmp/out" || fail "tls = on: the TLS client ended up without TLS"
stop_server

# Certificates named but tls = off: nothing is loaded, nothing offered.
serve off
sed -n '/^=== .*off.conf/,$p' "$tmp/server.log" | grep -q "TLS" && fail "tls = off logged a TLS setup"
nbdinfo --size "nbd://127.0.0.1:$port/disk" >/dev/null || fail "tls = off refused a plaintext client"
if nbdinfo "$(x509_uri "$port" disk)" >/dev/null 2>&1; then
	fail "tls = off served a TLS client"
fi
raw_check "$port" "
c = connect_tcp(port)
c.handshake()
c.send_option(OPT_STARTTLS)
r = c.read_reply()
assert r.type == REP_ERR_POLICY, 'STARTTLS with tls = off: %#x' % r.type
"
log "ok: require refuses plaintext (TLS_REQD, STARTTLS ACKed), on serves both, off refuses STARTTLS"
