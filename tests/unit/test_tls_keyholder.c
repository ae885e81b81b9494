/* SPDX-License-Identifier: MIT */
/*
 * A worker's TLS without its keys (lib/engine/tls_keyholder.c, lib/engine/tls_remote.c):
 * the master's struct cnbd_tls loaded from files made here with certtool,
 * a worker's built from the public blob alone, whose ops call the
 * master's functions; then real handshakes between a GnuTLS client in a
 * thread and the worker's credentials: TLS 1.3 and 1.2 (ECDHE) with RSA,
 * ECDSA and Ed25519 keys and client certificates verified, PSK; what the
 * master refuses to sign; and the engine's STARTTLS path with them.
 */
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cnbd/protocol.h"
#include "cnbd/serve.h"
#include "common/conn_io.h"
#include "engine/tls_creds.h"
#include "engine/tls_keyholder.h"
#include "engine/tls_server.h"

static char dir[] = "/tmp/cnbd-tlskey-XXXXXX";
static char path[512];

static const char *at(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* ---- the master behind ops ----------------------------------------- */

struct master {
	const struct cnbd_tls *tls;
	int signs, psk_asks;
	uint32_t algo, flags;
	size_t len;
};

static int m_sign(void *ctx, uint32_t algo, uint32_t flags, const void *data, size_t len,
		  void *sig, size_t sigmax, size_t *siglen)
{
	struct master *m = ctx;

	m->signs++;
	m->algo = algo;
	m->flags = flags;
	m->len = len;
	return cnbd_tls_sign(m->tls, algo, flags, data, len, sig, sigmax, siglen);
}

static int m_psk(void *ctx, const char *identity, void *key, size_t keymax, size_t *keylen)
{
	struct master *m = ctx;

	m->psk_asks++;
	return cnbd_tls_psk_key(m->tls, identity, key, keymax, keylen);
}

static const struct cnbd_tls_remote_ops ops = { .sign = m_sign, .psk_key = m_psk };

static struct cnbd_tls *master_new(const char *certs, bool psk, bool verify)
{
	char err[512] = "";
	char certdir[512];
	struct cnbd_tls *t;

	snprintf(certdir, sizeof(certdir), "%s/%s", dir, certs ? certs : "");
	t = cnbd_tls_server_new(certs ? certdir : NULL, psk ? at("keys.psk") : NULL,
				verify, err, sizeof(err));
	if (!t)
		fail_msg("master: %s", err);
	return t;
}

static uint8_t blob[CNBD_TLS_PUBLIC_MAX];
static size_t bloblen;

static struct cnbd_tls *remote_new(struct master *m)
{
	char err[512] = "";
	struct cnbd_tls *r;

	assert_int_equal(cnbd_tls_public_export(m->tls, blob, sizeof(blob), &bloblen), 0);
	r = cnbd_tls_remote_new(blob, bloblen, &ops, m, err, sizeof(err));
	if (!r)
		fail_msg("remote: %s", err);
	return r;
}

/* ---- a GnuTLS client in a thread ----------------------------------- */

struct client {
	int fd;
	const char *prio;
	const char *psk_user;		/* NULL: X.509 */
	const char *psk_hex;
	bool with_cert;
	int rc;				/* 0: handshake and "ok" received */
	pthread_t thread;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	gnutls_certificate_credentials_t x509 = NULL;
	gnutls_psk_client_credentials_t psk = NULL;
	gnutls_session_t s;
	char buf[2];
	int rc;

	c->rc = -1;
	gnutls_init(&s, GNUTLS_CLIENT);
	rc = gnutls_priority_set_direct(s, c->prio, NULL);
	if (rc < 0)
		goto out;
	if (c->psk_user) {
		const gnutls_datum_t key = { (unsigned char *)c->psk_hex,
					     (unsigned)strlen(c->psk_hex) };

		gnutls_psk_allocate_client_credentials(&psk);
		gnutls_psk_set_client_credentials(psk, c->psk_user, &key, GNUTLS_PSK_KEY_HEX);
		gnutls_credentials_set(s, GNUTLS_CRD_PSK, psk);
	} else {
		char cert[512], key[512];

		gnutls_certificate_allocate_credentials(&x509);
		gnutls_certificate_set_x509_trust_file(x509, at("ca-cert.pem"), GNUTLS_X509_FMT_PEM);
		if (c->with_cert) {
			snprintf(cert, sizeof(cert), "%s/client-cert.pem", dir);
			snprintf(key, sizeof(key), "%s/client-key.pem", dir);
			if (gnutls_certificate_set_x509_key_file(x509, cert, key,
								 GNUTLS_X509_FMT_PEM) < 0)
				goto out;
		}
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x509);
		gnutls_session_set_verify_cert(s, "localhost", 0);
	}
	gnutls_transport_set_int(s, c->fd);
	gnutls_handshake_set_timeout(s, 10000);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		goto out;
	if (gnutls_record_recv(s, buf, 2) == 2 && !memcmp(buf, "ok", 2))
		c->rc = 0;
	gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	gnutls_deinit(s);
	if (x509)
		gnutls_certificate_free_credentials(x509);
	if (psk)
		gnutls_psk_free_client_credentials(psk);
	close(c->fd);
	return NULL;
}

struct result {
	int server_rc, client_rc;
	gnutls_protocol_t version;
	gnutls_kx_algorithm_t kx;
	char psk_user[64];
	bool client_cert;
};

/* One handshake: the server side is the engine's tls_server_handshake(). */
static struct result handshake(const struct cnbd_tls *tls, struct client c)
{
	struct result res = { .server_rc = -1 };
	struct conn_io io = { .tls = NULL };
	char err[256];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c.fd = sv[0];
	io.fd = sv[1];
	assert_int_equal(pthread_create(&c.thread, NULL, client_main, &c), 0);
	res.server_rc = tls_server_handshake(tls, &io, 10000, err, sizeof(err));
	if (res.server_rc == 0) {
		const char *u = gnutls_psk_server_get_username(io.tls);
		unsigned n = 0;

		res.version = gnutls_protocol_get_version(io.tls);
		res.kx = gnutls_kx_get(io.tls);
		if (u)
			snprintf(res.psk_user, sizeof(res.psk_user), "%s", u);
		res.client_cert = gnutls_certificate_get_peers(io.tls, &n) && n;
		gnutls_record_send(io.tls, "ok", 2);
		conn_close(&io);
	} else {
		close(io.fd);
	}
	pthread_join(c.thread, NULL);
	res.client_rc = c.rc;
	return res;
}

#define TLS13		"NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define TLS12_ECDHE	"NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA"

/* ---- material ------------------------------------------------------ */

static char psk_hex[65];

static int make_keys(void **state)
{
	char cmd[8192];
	FILE *f;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd),
		"set -e; cd %s; exec 2>/dev/null >/dev/null\n"
		"certtool --generate-privkey --outfile ca-key.pem\n"
		"printf 'cn = keyholder test CA\\nca\\ncert_signing_key\\nexpiration_days = 2\\n' > ca.info\n"
		"certtool --generate-self-signed --load-privkey ca-key.pem --template ca.info --outfile ca-cert.pem\n"
		"printf 'cn = localhost\\ndns_name = localhost\\ntls_www_server\\nencryption_key\\nsigning_key\\nexpiration_days = 2\\n' > server.info\n"
		"for k in rsa ecdsa ed25519; do\n"
		"  mkdir $k; cp ca-cert.pem $k/\n"
		"  certtool --generate-privkey --key-type $k --outfile $k/server-key.pem\n"
		"  certtool --generate-certificate --load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem"
		"    --load-privkey $k/server-key.pem --template server.info --outfile $k/server-cert.pem\n"
		"done\n"
		"certtool --generate-privkey --outfile client-key.pem\n"
		"printf 'cn = client\\ntls_www_client\\nsigning_key\\nexpiration_days = 2\\n' > client.info\n"
		"certtool --generate-certificate --load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem"
		"  --load-privkey client-key.pem --template client.info --outfile client-cert.pem\n",
		dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "certtool could not make the test keys\n");
		return -1;
	}
	for (int i = 0; i < 32; i++)
		sprintf(psk_hex + 2 * i, "%02x", (unsigned)(i * 37 + 11) & 0xff);
	f = fopen(at("keys.psk"), "w");
	if (!f)
		return -1;
	fprintf(f, "alice:%s\nbob:0011223344556677\n", psk_hex);
	fclose(f);
	return 0;
}

static int remove_keys(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void load_file(const char *name, gnutls_datum_t *d)
{
	assert_int_equal(gnutls_load_file(at(name), d), 0);
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	return m && memmem(hay, n, needle, m) != NULL;
}

/* The value without leading zeroes, big endian and reversed. */
static void assert_absent(const uint8_t *hay, size_t n, const gnutls_datum_t *v, const char *what)
{
	const uint8_t *p = v->data;
	size_t m = v->size;
	uint8_t rev[1024];

	while (m && !*p) {
		p++;
		m--;
	}
	assert_true(m >= 16 && m <= sizeof(rev));
	for (size_t i = 0; i < m; i++)
		rev[i] = p[m - 1 - i];
	if (contains(hay, n, p, m) || contains(hay, n, rev, m))
		fail_msg("the public blob holds the key's %s", what);
	/* Not even a 16-byte piece of it. */
	assert_false(contains(hay, n, p + m / 2, 16));
}

/* ---- tests --------------------------------------------------------- */

static void test_blob_has_no_key(void **state)
{
	struct master m = { .tls = master_new("rsa", true, true) };
	gnutls_datum_t pem, cert_pem, cert_der, mod, e, d, p, q, u, e1, e2, der;
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t none;
	struct cnbd_tls *r;
	size_t need = 0;

	(void)state;
	/* Too small: ENOSPC with the size needed. */
	errno = 0;
	assert_int_equal(cnbd_tls_public_export(m.tls, blob, 10, &need), -1);
	assert_int_equal(errno, ENOSPC);
	r = remote_new(&m);
	assert_int_equal(need, bloblen);
	assert_true(bloblen < 8192);
	print_message("public blob: %zu bytes (RSA chain, one CA)\n", bloblen);

	load_file("rsa/server-key.pem", &pem);
	gnutls_x509_privkey_init(&key);
	assert_int_equal(gnutls_x509_privkey_import(key, &pem, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_x509_privkey_export_rsa_raw2(key, &mod, &e, &d, &p, &q, &u,
							     &e1, &e2), 0);
	assert_int_equal(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_DER, &der), 0);
	/* The search works: the modulus (public) is there, in the cert. */
	load_file("rsa/server-cert.pem", &cert_pem);
	gnutls_x509_crt_init(&crt);
	assert_int_equal(gnutls_x509_crt_import(crt, &cert_pem, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &cert_der), 0);
	assert_true(contains(blob, bloblen, cert_der.data, cert_der.size));
	assert_true(contains(blob, bloblen, mod.data + 1, 32));
	/* ... and no private part is. */
	assert_absent(blob, bloblen, &p, "p");
	assert_absent(blob, bloblen, &q, "q");
	assert_absent(blob, bloblen, &d, "d");
	assert_absent(blob, bloblen, &u, "u");
	assert_absent(blob, bloblen, &e1, "e1");
	assert_absent(blob, bloblen, &e2, "e2");
	assert_false(contains(blob, bloblen, der.data + der.size / 2, 32));
	assert_false(contains(blob, bloblen, pem.data + 100, 40));
	assert_false(contains(blob, bloblen, "PRIVATE", 7));
	/* The psk keys neither. */
	assert_false(contains(blob, bloblen, psk_hex, 16));
	assert_false(contains(blob, bloblen, "\x00\x11\x22\x33\x44\x55\x66\x77", 8));
	/* The worker's credentials hold no X.509 key to give. */
	assert_true(r->remote != NULL && r->keys == NULL && r->nkeys == 0);
	assert_int_not_equal(gnutls_certificate_get_x509_key(r->x509, 0, &none), 0);
	/* A worker's struct exports nothing, signs nothing, knows no PSK. */
	assert_int_equal(cnbd_tls_public_export(r, blob, sizeof(blob), &need), -1);
	assert_int_equal(cnbd_tls_sign(r, GNUTLS_SIGN_RSA_RAW, 1, "x", 1, blob, 100, &need), -1);

	gnutls_free(mod.data); gnutls_free(e.data); gnutls_free(d.data);
	gnutls_free(p.data); gnutls_free(q.data); gnutls_free(u.data);
	gnutls_free(e1.data); gnutls_free(e2.data); gnutls_free(der.data);
	gnutls_free(pem.data); gnutls_free(cert_pem.data); gnutls_free(cert_der.data);
	gnutls_x509_privkey_deinit(key);
	gnutls_x509_crt_deinit(crt);
	cnbd_tls_free(r);
	cnbd_tls_free((struct cnbd_tls *)m.tls);
}

static void test_blob_refused(void **state)
{
	struct master m = { .tls = master_new("rsa", false, false) };
	char err[256];
	struct cnbd_tls *r;

	(void)state;
	assert_int_equal(cnbd_tls_public_export(m.tls, blob, sizeof(blob), &bloblen), 0);
	assert_null(cnbd_tls_remote_new("garbage!", 8, &ops, &m, err, sizeof(err)));
	assert_string_equal(err, "TLS public part: bad magic");
	assert_null(cnbd_tls_remote_new(blob, bloblen - 3, &ops, &m, err, sizeof(err)));
	assert_string_equal(err, "TLS public part: cut short");
	assert_null(cnbd_tls_remote_new(blob, bloblen, NULL, &m, err, sizeof(err)));
	assert_string_equal(err, "TLS: X.509 needs a sign operation");
	r = cnbd_tls_remote_new(blob, bloblen, &ops, &m, err, sizeof(err));
	assert_non_null(r);
	assert_null(r->psk);
	assert_false(r->verify_clients);
	cnbd_tls_free(r);
	cnbd_tls_free((struct cnbd_tls *)m.tls);
}

/* want_algo, want_len: what GnuTLS 3.7 asks the key for (observed). */
static void x509_case(const char *kind, const char *prio, gnutls_protocol_t version,
		      uint32_t want_flags, uint32_t want_algo, size_t want_len)
{
	struct master m = { .tls = master_new(kind, true, true) };
	struct cnbd_tls *r = remote_new(&m);
	struct result res;

	res = handshake(r, (struct client){ .prio = prio, .with_cert = true });
	if (res.server_rc || res.client_rc)
		fail_msg("%s %s: server %d client %d", kind, prio, res.server_rc, res.client_rc);
	assert_int_equal(res.version, version);
	assert_true(res.client_cert);
	if (version == GNUTLS_TLS1_2)
		assert_true(res.kx == GNUTLS_KX_ECDHE_RSA || res.kx == GNUTLS_KX_ECDHE_ECDSA);
	/* One signature, made by the master, of the kind GnuTLS asks for. */
	assert_int_equal(m.signs, 1);
	assert_int_equal(m.flags, want_flags);
	assert_int_equal(m.algo, want_algo);
	assert_int_equal(m.len, want_len);
	print_message("%s %s: %s, %zu bytes\n", kind, version == GNUTLS_TLS1_3 ? "TLS 1.3" : "TLS 1.2",
		      gnutls_sign_get_name(m.algo), m.len);

	/* Without a client certificate: refused (verify_clients). */
	m.signs = 0;
	res = handshake(r, (struct client){ .prio = prio });
	assert_int_equal(res.server_rc, -1);
	assert_int_equal(res.client_rc, -1);
	cnbd_tls_free(r);
	cnbd_tls_free((struct cnbd_tls *)m.tls);
}

static void test_rsa_tls13(void **state)
{
	(void)state;
	x509_case("rsa", TLS13, GNUTLS_TLS1_3, CNBD_TLS_SIGN_HASH,
		  GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 32);
}

static void test_rsa_tls12_ecdhe(void **state)
{
	(void)state;
	/* PKCS#1 v1.5: a DigestInfo of SHA-256, 19 + 32 bytes. */
	x509_case("rsa", TLS12_ECDHE, GNUTLS_TLS1_2, CNBD_TLS_SIGN_HASH, GNUTLS_SIGN_RSA_RAW, 51);
}

static void test_ecdsa(void **state)
{
	(void)state;
	x509_case("ecdsa", TLS13, GNUTLS_TLS1_3, CNBD_TLS_SIGN_HASH,
		  GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 32);
	x509_case("ecdsa", TLS12_ECDHE, GNUTLS_TLS1_2, CNBD_TLS_SIGN_HASH,
		  GNUTLS_SIGN_ECDSA_SHA256, 32);
}

static void test_ed25519(void **state)
{
	(void)state;
	/* The data itself: 64 spaces, the context and NUL, SHA-384. */
	x509_case("ed25519", TLS13, GNUTLS_TLS1_3, CNBD_TLS_SIGN_DATA,
		  GNUTLS_SIGN_EDDSA_ED25519, 64 + 34 + 48);
	/* Randoms, then secp256r1 parameters. */
	x509_case("ed25519", TLS12_ECDHE, GNUTLS_TLS1_2, CNBD_TLS_SIGN_DATA,
		  GNUTLS_SIGN_EDDSA_ED25519, 64 + 4 + 65);
}

/* RSA key exchange would need the key to decrypt: not offered. */
static void test_rsa_kx_refused(void **state)
{
	struct master m = { .tls = master_new("rsa", false, false) };
	struct cnbd_tls *r = remote_new(&m);
	struct result res;

	(void)state;
	res = handshake(r, (struct client){
		.prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA" });
	assert_int_equal(res.server_rc, -1);
	assert_int_equal(res.client_rc, -1);
	assert_int_equal(m.signs, 0);
	/* TLS 1.0 neither (its MD5+SHA-1 signature is refused). */
	res = handshake(r, (struct client){ .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.0" });
	assert_int_equal(res.server_rc, -1);
	/* The master's own credentials still take both. */
	res = handshake(m.tls, (struct client){
		.prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA" });
	assert_int_equal(res.server_rc, 0);
	assert_int_equal(res.client_rc, 0);
	assert_int_equal(res.kx, GNUTLS_KX_RSA);
	cnbd_tls_free(r);
	cnbd_tls_free((struct cnbd_tls *)m.tls);
}

static void psk_case(const char *prio)
{
	struct master m = { .tls = master_new(NULL, true, false) };
	struct cnbd_tls *r = remote_new(&m);
	struct result res;

	assert_null(r->x509);
	res = handshake(r, (struct client){ .prio = prio, .psk_user = "alice",
					    .psk_hex = psk_hex });
	if (res.server_rc || res.client_rc)
		fail_msg("PSK %s: server %d client %d", prio, res.server_rc, res.client_rc);
	assert_string_equal(res.psk_user, "alice");
	assert_int_equal(m.psk_asks, 1);
	assert_int_equal(m.signs, 0);

	/* Unknown identity: one question, refused. */
	m.psk_asks = 0;
	res = handshake(r, (struct client){ .prio = prio, .psk_user = "mallory",
					    .psk_hex = psk_hex });
	assert_int_equal(res.server_rc, -1);
	assert_int_equal(res.client_rc, -1);
	assert_int_equal(m.psk_asks, 1);

	/* Known identity, wrong key. */
	m.psk_asks = 0;
	res = handshake(r, (struct client){ .prio = prio, .psk_user = "bob",
					    .psk_hex = psk_hex });
	assert_int_equal(res.server_rc, -1);
	assert_int_equal(m.psk_asks, 1);
	cnbd_tls_free(r);
	cnbd_tls_free((struct cnbd_tls *)m.tls);
}

static void test_psk(void **state)
{
	(void)state;
	psk_case("NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK:+PSK");
	psk_case("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-PSK:+PSK");
}

/* One question per connection: a second identity is refused without
 * asking; the same again (a ClientHello after HelloRetryRequest) gets
 * the key this connection already has. */
static void test_psk_second_lookup(void **state)
{
	struct master m = { .tls = master_new(NULL, true, false) };
	struct cnbd_tls *r = remote_new(&m);
	struct tls_conn c = { .tls = r };
	gnutls_datum_t key = { NULL, 0 };
	uint8_t buf[64];
	size_t n;

	(void)state;
	assert_int_equal(tls_remote_psk_lookup(&c, "alice", &key), 0);
	assert_int_equal(key.size, 32);
	gnutls_free(key.data);
	assert_int_equal(tls_remote_psk_lookup(&c, "bob", &key), -1);
	assert_int_equal(m.psk_asks, 1);
	assert_int_equal(tls_remote_psk_lookup(&c, "alice", &key), 0);
	assert_int_equal(m.psk_asks, 1);
	gnutls_free(key.data);

	/* A first lookup that failed leaves nothing to ask again for. */
	c = (struct tls_conn){ .tls = r };
	assert_int_equal(tls_remote_psk_lookup(&c, "mallory", &key), -1);
	assert_int_equal(tls_remote_psk_lookup(&c, "alice", &key), -1);
	assert_int_equal(tls_remote_psk_lookup(&c, "mallory", &key), -1);
	assert_int_equal(m.psk_asks, 2);

	/* The master's side. */
	assert_int_equal(cnbd_tls_psk_key(m.tls, "bob", buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "\x00\x11\x22\x33\x44\x55\x66\x77", 8);
	errno = 0;
	assert_int_equal(cnbd_tls_psk_key(m.tls, "alice", buf, 16, &n), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(cnbd_tls_psk_key(m.tls, "carol", buf, sizeof(buf), &n), -1);
	assert_int_equal(errno, ENOENT);
	cnbd_tls_free(r);
	cnbd_tls_free((struct cnbd_tls *)m.tls);
}

static int sign(const struct cnbd_tls *t, uint32_t algo, uint32_t flags,
		const void *data, size_t len, gnutls_datum_t *sig)
{
	static uint8_t buf[CNBD_TLS_SIGN_MAX_SIG];
	size_t n = 0;

	errno = 0;
	if (cnbd_tls_sign(t, algo, flags, data, len, buf, sizeof(buf), &n) < 0)
		return -errno;
	sig->data = buf;
	sig->size = (unsigned)n;
	return 0;
}

static void pubkey_of(const char *certfile, gnutls_pubkey_t *pub)
{
	gnutls_datum_t pem;
	gnutls_x509_crt_t crt;

	load_file(certfile, &pem);
	gnutls_x509_crt_init(&crt);
	assert_int_equal(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM), 0);
	gnutls_pubkey_init(pub);
	assert_int_equal(gnutls_pubkey_import_x509(*pub, crt, 0), 0);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(pem.data);
}

static void test_sign_rsa_checks(void **state)
{
	const struct cnbd_tls *t = master_new("rsa", false, false);
	uint8_t hash[64], big[3000], md5sha1[36];
	gnutls_datum_t h = { hash, 32 }, info, sig;
	gnutls_pubkey_t pub;
	size_t n;

	(void)state;
	pubkey_of("rsa/server-cert.pem", &pub);
	gnutls_rnd(GNUTLS_RND_NONCE, hash, sizeof(hash));
	memset(big, 0x20, sizeof(big));
	memset(md5sha1, 7, sizeof(md5sha1));
	assert_int_equal(gnutls_encode_ber_digest_info(GNUTLS_DIG_SHA256, &h, &info), 0);

	/* What GnuTLS asks for, and the signatures verify. */
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_RAW, 1, info.data, info.size, &sig), 0);
	assert_int_equal(gnutls_pubkey_verify_hash2(pub, GNUTLS_SIGN_RSA_SHA256, 0, &h, &sig), 0);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 1, hash, 32, &sig), 0);
	assert_int_equal(gnutls_pubkey_verify_hash2(pub, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 0,
						    &h, &sig), 0);
	h.size = 48;
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, 1, hash, 48, &sig), 0);
	assert_int_equal(gnutls_pubkey_verify_hash2(pub, GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, 0,
						    &h, &sig), 0);

	/* Not plausible TLS signing input. */
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_RAW, 1, hash, 32, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_RAW, 1, md5sha1, 36, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_RAW, 1, info.data, info.size - 1, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 1, hash, 31, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 1, hash, 48, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_SHA256, 1, hash, 32, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_SHA256, 0, big, 200, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 0, big, 130, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 1, hash, 32, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_SHA256, 1, hash, 32, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_MD5, 1, hash, 16, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 2, hash, 32, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 1, big, sizeof(big), &sig), -EINVAL);
	/* Too small a buffer: ENOSPC. */
	errno = 0;
	assert_int_equal(cnbd_tls_sign(t, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 1, hash, 32,
				       big, 64, &n), -1);
	assert_int_equal(errno, ENOSPC);
	assert_true(n > 64);
	gnutls_free(info.data);
	gnutls_pubkey_deinit(pub);
	cnbd_tls_free((struct cnbd_tls *)t);
}

static void test_sign_ed25519_checks(void **state)
{
	const struct cnbd_tls *t = master_new("ed25519", false, false);
	static const char ctx[] = "TLS 1.3, server CertificateVerify";
	uint8_t in[256];
	gnutls_datum_t d = { in, 0 }, sig;
	gnutls_pubkey_t pub;

	(void)state;
	pubkey_of("ed25519/server-cert.pem", &pub);
	/* TLS 1.3 CertificateVerify input. */
	memset(in, 0x20, 64);
	memcpy(in + 64, ctx, sizeof(ctx));
	gnutls_rnd(GNUTLS_RND_NONCE, in + 98, 48);
	d.size = 98 + 32;
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, d.size, &sig), 0);
	assert_int_equal(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_EDDSA_ED25519, 0, &d, &sig), 0);
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, 98 + 48, &sig), 0);
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, 98 + 40, &sig), -EINVAL);
	/* The client's context, or one space less: refused. */
	memcpy(in + 64, "TLS 1.3, client CertificateVerify", sizeof(ctx));
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, 98 + 32, &sig), -EINVAL);
	memcpy(in + 64, ctx, sizeof(ctx));
	in[10] = 0;
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, 98 + 32, &sig), -EINVAL);
	/* TLS 1.2 ServerKeyExchange: randoms, named curve x25519, 32 bytes. */
	gnutls_rnd(GNUTLS_RND_NONCE, in, 64);
	memcpy(in + 64, "\x03\x00\x1d\x20", 4);
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, 64 + 4 + 32, &sig), 0);
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, 64 + 4 + 33, &sig), -EINVAL);
	memcpy(in + 64, "\x03\x00\x17\x20", 4);	/* secp256r1 needs 65 */
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, in, 64 + 4 + 32, &sig), -EINVAL);
	/* Anything else, and a digest: refused. */
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 0, "hello", 5, &sig), -EINVAL);
	assert_int_equal(sign(t, GNUTLS_SIGN_EDDSA_ED25519, 1, in, 32, &sig), -EINVAL);
	gnutls_pubkey_deinit(pub);
	cnbd_tls_free((struct cnbd_tls *)t);
}

/* ---- the engine: STARTTLS, the handshake, LIST over TLS ------------- */

static struct cnbd_export the_export = { .name = (char *)"secret", .tls_required = true };

static const struct cnbd_export *e_find(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "secret") ? NULL : &the_export;
}

static const struct cnbd_export *e_at(void *ctx, size_t i)
{
	(void)ctx;
	return i ? NULL : &the_export;
}

struct engine_run {
	int fd;
	const struct cnbd_tls *tls;
	int rc;
};

static void *engine_main(void *arg)
{
	struct engine_run *e = arg;
	struct cnbd_serve_hooks hooks = { .find_export = e_find, .export_at = e_at };
	struct cnbd_serve_options opts = { .handshake_timeout = 10, .threads = 1,
					   .peer = "unit-test", .tls = e->tls,
					   .tls_mode = CNBD_TLS_REQUIRE };

	e->rc = cnbd_serve_connection(e->fd, &hooks, &opts);
	return NULL;
}

static void xread(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, (char *)buf + got, n - got);

		assert_true(k > 0);
		got += (size_t)k;
	}
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void option(uint8_t *o, uint32_t opt)
{
	put64(o, NBD_IHAVEOPT);
	put32(o + 8, opt);
	put32(o + 12, 0);
}

static void tls_read(gnutls_session_t s, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = gnutls_record_recv(s, (char *)buf + got, n - got);

		assert_true(k > 0);
		got += (size_t)k;
	}
}

static void test_engine_starttls(void **state)
{
	struct master m = { .tls = master_new("rsa", false, true) };
	struct cnbd_tls *r = remote_new(&m);
	struct engine_run e = { .tls = r, .rc = -12345 };
	gnutls_certificate_credentials_t x509;
	struct timeval tv = { .tv_sec = 10 };
	uint8_t greet[18], o[16], rep[20], flags[4] = { 0, 0, 0, 3 };
	char cert[512], key[512], name[16];
	gnutls_session_t s;
	pthread_t thread;
	int sv[2], rc;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	e.fd = sv[1];
	assert_int_equal(pthread_create(&thread, NULL, engine_main, &e), 0);
	xread(sv[0], greet, sizeof(greet));
	assert_int_equal(write(sv[0], flags, 4), 4);
	option(o, NBD_OPT_STARTTLS);
	assert_int_equal(write(sv[0], o, 16), 16);
	xread(sv[0], rep, 20);
	assert_int_equal(get32(rep + 12), NBD_REP_ACK);

	gnutls_certificate_allocate_credentials(&x509);
	gnutls_certificate_set_x509_trust_file(x509, at("ca-cert.pem"), GNUTLS_X509_FMT_PEM);
	snprintf(cert, sizeof(cert), "%s/client-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/client-key.pem", dir);
	assert_int_equal(gnutls_certificate_set_x509_key_file(x509, cert, key,
							      GNUTLS_X509_FMT_PEM), 0);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x509);
	gnutls_session_set_verify_cert(s, "localhost", 0);
	gnutls_transport_set_int(s, sv[0]);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		fail_msg("handshake: %s", gnutls_strerror(rc));
	assert_int_equal(m.signs, 1);

	/* LIST over TLS names the TLS-only export. */
	option(o, NBD_OPT_LIST);
	assert_int_equal(gnutls_record_send(s, o, 16), 16);
	tls_read(s, rep, 20);
	assert_int_equal(get32(rep + 12), NBD_REP_SERVER);
	assert_int_equal(get32(rep + 16), 4 + 6);
	tls_read(s, name, 10);
	assert_memory_equal(name + 4, "secret", 6);
	tls_read(s, rep, 20);
	assert_int_equal(get32(rep + 12), NBD_REP_ACK);
	option(o, NBD_OPT_ABORT);
	assert_int_equal(gnutls_record_send(s, o, 16), 16);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(x509);
	close(sv[0]);
	pthread_join(thread, NULL);
	assert_int_equal(e.rc, 0);
	cnbd_tls_free(r);
	cnbd_tls_free((struct cnbd_tls *)m.tls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_has_no_key),
		cmocka_unit_test(test_blob_refused),
		cmocka_unit_test(test_rsa_tls13),
		cmocka_unit_test(test_rsa_tls12_ecdhe),
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_rsa_kx_refused),
		cmocka_unit_test(test_psk),
		cmocka_unit_test(test_psk_second_lookup),
		cmocka_unit_test(test_sign_rsa_checks),
		cmocka_unit_test(test_sign_ed25519_checks),
		cmocka_unit_test(test_engine_starttls),
	};

	/* A peer that gave up closes first; the engine's callers ignore it too. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, make_keys, remove_keys);
}
