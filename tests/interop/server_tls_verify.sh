#!/bin/bash
# tls-verify-peer = true: a client must show a certificate signed by
# tls-certificates/ca-cert.pem. Refused: a client with no certificate (a
# directory holding only ca-cert.pem) and one whose certificate another
# CA signed; served: the test client's certificate, with nbdinfo and
# qemu-img. Without tls-verify-peer the certificate-less client is served.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"

need nbdinfo qemu-img certtool
tls_setup

# A client that trusts the server but has no certificate of its own.
mkdir "$tmp/nocert"
cp "$tmp/tls/client/ca-cert.pem" "$tmp/nocert/"
# A client whose certificate the unrelated CA signed.
mkdir "$tmp/foreign"
cp "$tmp/tls/client/ca-cert.pem" "$tmp/foreign/"
(
	cd "$tmp/foreign"
	certtool --generate-privkey --outfile client-key.pem 2>/dev/null
	printf 'cn = stranger\ntls_www_client\nsigning_key\nexpiration_days = 2\n' >client.info
	certtool --generate-certificate --load-ca-certificate "$tmp/tls/badca/ca-cert.pem" \
		--load-ca-privkey "$tmp/tls/badca/ca-key.pem" --load-privkey client-key.pem \
		--template client.info --outfile client-cert.pem 2>/dev/null
) || fail "certtool could not make the foreign client certificate"

port=$(free_port)
conf=$tmp/server.conf
tls_config "$conf" "$port" tls=require "tls-certificates=$tmp/tls/pki" tls-verify-peer=true
add_export "$conf" disk backend=memory size=1M
start_server "$conf"
grep -q "(client certificates required)" "$tmp/server.log" ||
	fail "the start-up log does not say client certificates are required"

nbdinfo --size "$(x509_uri "$port" disk)" >/dev/null ||
	fail "a client with a certificate signed by the CA was refused"
qemu-img info --object "$(qemu_x509_object)" --image-opts "$(qemu_x509_opts "$port" disk)" \
	>"$tmp/qinfo" 2>&1 || fail "qemu-img with a client certificate was refused: $(cat "$tmp/qinfo")"
if nbdinfo --size "nbds://127.0.0.1:$port/disk?tls-certificates=$tmp/nocert" >/dev/null 2>&1; then
	fail "a client without a certificate was served"
fi
if nbdinfo --size "nbds://127.0.0.1:$port/disk?tls-certificates=$tmp/foreign" >/dev/null 2>&1; then
	fail "a client whose certificate another CA signed was served"
fi
grep -q "TLS handshake failed" "$tmp/server.log" || fail "the refusals are not logged"
nbdinfo --size "$(x509_uri "$port" disk)" >/dev/null || fail "the good client is refused after the bad ones"
stop_server

# The same client without tls-verify-peer: no certificate needed.
port=$(free_port)
tls_config "$conf" "$port" tls=require "tls-certificates=$tmp/tls/pki"
add_export "$conf" disk backend=memory size=1M
start_server "$conf"
nbdinfo --size "nbds://127.0.0.1:$port/disk?tls-certificates=$tmp/nocert" >/dev/null ||
	fail "without tls-verify-peer a client without a certificate was refused"
log "ok: tls-verify-peer refuses no certificate and a foreign one, serves the CA's client"
