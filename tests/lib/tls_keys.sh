# Makes throwaway TLS material for tests, with gnutls-bin's tools:
#   make_tls_keys DIR   ->  DIR/pki (ca-cert.pem ca-key.pem server-cert.pem
#                           server-key.pem: the names nbdkit, qemu and cnbd
#                           use), DIR/client (ca-cert.pem client-cert.pem
#                           client-key.pem), DIR/badca (an unrelated CA),
#                           DIR/keys.psk (psktool: alice's key)
# CNBD_TLS_KEY_ARGS: extra certtool --generate-privkey arguments (the
# kernel cases use --key-type=ecdsa: RSA key generation is slow under TCG).
make_tls_keys() {
	local dir=$1
	need certtool psktool
	mkdir -p "$dir/pki" "$dir/client" "$dir/badca"
	(
		cd "$dir/pki"
		certtool --generate-privkey ${CNBD_TLS_KEY_ARGS:-} --outfile ca-key.pem 2>/dev/null
		printf 'cn = cnbd test CA\nca\ncert_signing_key\nexpiration_days = 2\n' > ca.info
		certtool --generate-self-signed --load-privkey ca-key.pem \
			--template ca.info --outfile ca-cert.pem 2>/dev/null
		certtool --generate-privkey ${CNBD_TLS_KEY_ARGS:-} --outfile server-key.pem 2>/dev/null
		printf 'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' > server.info
		certtool --generate-certificate --load-ca-certificate ca-cert.pem \
			--load-ca-privkey ca-key.pem --load-privkey server-key.pem \
			--template server.info --outfile server-cert.pem 2>/dev/null
		cp ca-cert.pem ../client/
		certtool --generate-privkey ${CNBD_TLS_KEY_ARGS:-} --outfile ../client/client-key.pem 2>/dev/null
		printf 'cn = client\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 2\n' > client.info
		certtool --generate-certificate --load-ca-certificate ca-cert.pem \
			--load-ca-privkey ca-key.pem --load-privkey ../client/client-key.pem \
			--template client.info --outfile ../client/client-cert.pem 2>/dev/null
	) || fail "certtool could not make the test certificates"
	(
		cd "$dir/badca"
		certtool --generate-privkey ${CNBD_TLS_KEY_ARGS:-} --outfile ca-key.pem 2>/dev/null
		printf 'cn = some other CA\nca\ncert_signing_key\nexpiration_days = 2\n' > ca.info
		certtool --generate-self-signed --load-privkey ca-key.pem \
			--template ca.info --outfile ca-cert.pem 2>/dev/null
	) || fail "certtool could not make the unrelated CA"
	psktool -u alice -p "$dir/keys.psk" >/dev/null 2>&1 || fail "psktool failed"
	[ -s "$dir/pki/server-cert.pem" ] && [ -s "$dir/client/client-cert.pem" ] &&
		[ -s "$dir/keys.psk" ] || fail "TLS test material is incomplete"
}
