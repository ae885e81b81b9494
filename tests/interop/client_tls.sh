#!/bin/bash
# The client library over TLS against a peer nobody here wrote: nbdkit with
# --tls=require, X.509 (with and without a client certificate required)
# and PSK. Data written through nbds:// reads back; a server certificate
# from another CA (with GnuTLS's reason), a wrong PSK identity, and
# plaintext are all refused; nbdctl attach takes nbds:// (the daemon's
# side is tests/kernel/cases/client_tls_*.sh) but no --tls-mode for nbd://.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
need nbdkit certtool psktool cmp

cnbd_tmpdir
make_tls_keys "$tmp/tls"
io=$CNBD_BUILD/tests/cnbd-io
nbdctl=$CNBD_BUILD/nbdctl

start_nbdkit() {	# PORT ARGS...
	local port=$1; shift
	nbdkit -f -p "$port" --ipaddr 127.0.0.1 --tls=require "$@" memory 16M \
		>"$tmp/nbdkit-$port.log" 2>&1 &
	kill_on_exit $!
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nbdkit did not start: $(cat "$tmp/nbdkit-$port.log")"
}

x509=$(free_port)
start_nbdkit "$x509" --tls-certificates="$tmp/tls/pki"
uri="nbds://localhost:$x509/?tls-certificates=$tmp/tls/client"
head -c 200000 /dev/urandom > "$tmp/blob"
"$io" "$uri" write 12345 < "$tmp/blob" || fail "write over TLS (X.509) failed"
"$io" "$uri" read 12345 200000 > "$tmp/back" || fail "read over TLS (X.509) failed"
cmp "$tmp/blob" "$tmp/back" || fail "data read over TLS differs from what was written"
"$nbdctl" exports "$uri" >/dev/null || fail "nbdctl exports over TLS failed"

if "$io" "nbds://localhost:$x509/?tls-certificates=$tmp/tls/badca" info 2>"$tmp/err"; then
	fail "a server certificate from another CA was accepted"
fi
grep -q "the server's certificate does not verify against $tmp/tls/badca for host localhost: .*issuer is unknown" "$tmp/err" ||
	fail "unclear error for a bad certificate: $(cat "$tmp/err")"
if "$io" "nbd://127.0.0.1:$x509/" info 2>"$tmp/err"; then
	fail "plaintext was served by a TLS-only server"
fi
grep -q "TLS_REQD" "$tmp/err" || fail "plaintext refusal does not say TLS is required: $(cat "$tmp/err")"

# nbdkit asks for a client certificate signed by its CA.
verify=$(free_port)
start_nbdkit "$verify" --tls-certificates="$tmp/tls/pki" --tls-verify-peer
"$io" "nbds://localhost:$verify/?tls-certificates=$tmp/tls/client" info >/dev/null ||
	fail "our client certificate was not accepted by nbdkit --tls-verify-peer"
mkdir -p "$tmp/nocert" && cp "$tmp/tls/client/ca-cert.pem" "$tmp/nocert/"
if "$io" "nbds://localhost:$verify/?tls-certificates=$tmp/nocert" info 2>/dev/null; then
	fail "nbdkit --tls-verify-peer accepted a client without a certificate"
fi

psk=$(free_port)
start_nbdkit "$psk" --tls-psk="$tmp/tls/keys.psk"
"$io" "nbds://alice@127.0.0.1:$psk/?tls-psk-file=$tmp/tls/keys.psk" write 0 < "$tmp/blob" ||
	fail "write over TLS (PSK) failed"
"$io" "nbds://alice@127.0.0.1:$psk/?tls-psk-file=$tmp/tls/keys.psk" read 0 200000 |
	cmp - "$tmp/blob" || fail "PSK read-back differs"
if "$io" "nbds://mallory@127.0.0.1:$psk/?tls-psk-file=$tmp/tls/keys.psk" info 2>"$tmp/err"; then
	fail "an identity with no key in the file was accepted"
fi

# libnbd's tls-username names the PSK identity too.
"$io" "nbds://127.0.0.1:$psk/?tls-psk-file=$tmp/tls/keys.psk&tls-username=alice" info >/dev/null ||
	fail "tls-username=alice was not used as the PSK identity"

"$nbdctl" --socket "$tmp/none.sock" attach "nbds://localhost:$x509/" 2>"$tmp/err" &&
	fail "nbdctl attach succeeded without a daemon"
grep -q "cannot reach nbd-clientd" "$tmp/err" || fail "attach of nbds:// refused before the daemon: $(cat "$tmp/err")"
rc=0
"$nbdctl" --socket "$tmp/none.sock" attach --tls-mode relay "nbd://localhost:$x509/" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q "tls-mode is for nbds:// URIs only" "$tmp/err" ||
	fail "--tls-mode on nbd:// not refused as usage (rc $rc): $(cat "$tmp/err")"
echo "ok: client TLS against nbdkit (X.509, client certificates, PSK, tls-username, refusals)"
