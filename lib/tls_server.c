/* SPDX-License-Identifier: MIT */
/*
 * X.509 (the file names nbdkit and qemu use: ca-cert.pem, server-cert.pem,
 * server-key.pem in one directory) and PSK (psktool's "identity:hexkey"
 * lines). Everything is read into memory by cnbd_tls_server_new(), which
 * nbd-serverd calls in the master: the workers that use it have dropped
 * every privilege and could not open a root-only key file.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "tls_server.h"

#define PSK_PRIORITY	"NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"

struct psk_entry {
	char *identity;
	gnutls_datum_t key;
};

struct cnbd_tls {
	gnutls_certificate_credentials_t x509;	/* NULL without certificates */
	gnutls_psk_server_credentials_t psk;	/* NULL without a PSK file */
	struct psk_entry *keys;
	size_t nkeys;
	bool verify_clients;
};

static bool file_exists(const char *dir, const char *name, char *path, size_t size)
{
	struct stat st;

	snprintf(path, size, "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static int load_x509(struct cnbd_tls *t, const char *dir, char *err, size_t errlen)
{
	char cert[4096], key[4096], ca[4096];
	int rc;

	if (!file_exists(dir, "server-cert.pem", cert, sizeof(cert)) ||
	    !file_exists(dir, "server-key.pem", key, sizeof(key))) {
		snprintf(err, errlen, "%s must hold server-cert.pem and server-key.pem", dir);
		return -1;
	}
	gnutls_certificate_allocate_credentials(&t->x509);
	rc = gnutls_certificate_set_x509_key_file(t->x509, cert, key, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		snprintf(err, errlen, "%s, %s: %s", cert, key, gnutls_strerror(rc));
		return -1;
	}
	if (file_exists(dir, "ca-cert.pem", ca, sizeof(ca))) {
		rc = gnutls_certificate_set_x509_trust_file(t->x509, ca, GNUTLS_X509_FMT_PEM);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", ca, gnutls_strerror(rc));
			return -1;
		}
	} else if (t->verify_clients) {
		snprintf(err, errlen, "verifying clients needs %s/ca-cert.pem", dir);
		return -1;
	}
	return 0;
}

static int add_psk_line(struct cnbd_tls *t, char *line, const char *path, int lineno,
			char *err, size_t errlen)
{
	char *colon = strchr(line, ':');
	gnutls_datum_t hex;
	struct psk_entry *e;

	line[strcspn(line, "\r\n")] = '\0';
	if (!*line)
		return 0;
	if (!colon) {
		snprintf(err, errlen, "%s:%d: expected identity:hexkey", path, lineno);
		return -1;
	}
	*colon = '\0';
	e = realloc(t->keys, (t->nkeys + 1) * sizeof(*e));
	if (!e)
		return -1;
	t->keys = e;
	e = &t->keys[t->nkeys];
	hex.data = (unsigned char *)colon + 1;
	hex.size = strlen(colon + 1);
	if (gnutls_hex_decode2(&hex, &e->key) < 0) {
		snprintf(err, errlen, "%s:%d: the key is not hexadecimal", path, lineno);
		return -1;
	}
	e->identity = strdup(line);
	t->nkeys++;
	return 0;
}

static int psk_lookup(gnutls_session_t session, const char *identity, gnutls_datum_t *key)
{
	const struct cnbd_tls *t = gnutls_session_get_ptr(session);
	char esc[LOG_ESCAPE_SIZE];

	for (size_t i = 0; i < t->nkeys; i++) {
		if (strcmp(t->keys[i].identity, identity))
			continue;
		key->data = gnutls_malloc(t->keys[i].key.size);
		if (!key->data)
			return -1;
		memcpy(key->data, t->keys[i].key.data, t->keys[i].key.size);
		key->size = t->keys[i].key.size;
		return 0;
	}
	/* The identity is the client's choice of bytes. */
	log_info("TLS: unknown PSK identity '%s'", log_escape(identity, esc, sizeof(esc)));
	return -1;
}

static int load_psk(struct cnbd_tls *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int lineno = 0, rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f))
		rc = add_psk_line(t, line, path, ++lineno, err, errlen);
	fclose(f);
	if (rc == 0 && !t->nkeys) {
		snprintf(err, errlen, "%s holds no keys", path);
		rc = -1;
	}
	if (rc == 0) {
		gnutls_psk_allocate_server_credentials(&t->psk);
		gnutls_psk_set_server_credentials_function(t->psk, psk_lookup);
	}
	return rc;
}

struct cnbd_tls *cnbd_tls_server_new(const char *cert_dir, const char *psk_file,
				     bool verify_clients, char *err, size_t errlen)
{
	struct cnbd_tls *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->verify_clients = verify_clients;
	if (!cert_dir && !psk_file) {
		snprintf(err, errlen, "TLS needs certificates or a PSK file");
		goto fail;
	}
	if (cert_dir && load_x509(t, cert_dir, err, errlen) < 0)
		goto fail;
	if (psk_file && load_psk(t, psk_file, err, errlen) < 0)
		goto fail;
	return t;
fail:
	cnbd_tls_free(t);
	return NULL;
}

void cnbd_tls_free(struct cnbd_tls *t)
{
	if (!t)
		return;
	if (t->x509)
		gnutls_certificate_free_credentials(t->x509);
	if (t->psk)
		gnutls_psk_free_server_credentials(t->psk);
	for (size_t i = 0; i < t->nkeys; i++) {
		gnutls_memset(t->keys[i].key.data, 0, t->keys[i].key.size);
		gnutls_free(t->keys[i].key.data);
		free(t->keys[i].identity);
	}
	free(t->keys);
	free(t);
}

static int session_setup(const struct cnbd_tls *t, gnutls_session_t s)
{
	int rc = gnutls_priority_set_direct(s, t->psk ? PSK_PRIORITY : "NORMAL", NULL);

	if (rc == 0 && t->x509) {
		rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->x509);
		if (rc == 0 && t->verify_clients) {
			gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
			gnutls_session_set_verify_cert(s, NULL, 0);
		}
	}
	if (rc == 0 && t->psk)
		rc = gnutls_credentials_set(s, GNUTLS_CRD_PSK, t->psk);
	gnutls_session_set_ptr(s, (void *)t);
	return rc;
}

int tls_server_handshake(const struct cnbd_tls *t, struct conn_io *io,
			 int timeout_ms, char *err, size_t errlen)
{
	gnutls_session_t s;
	int rc;

	rc = gnutls_init(&s, GNUTLS_SERVER);
	if (rc == 0)
		rc = session_setup(t, s);
	if (rc < 0) {
		snprintf(err, errlen, "TLS setup: %s", gnutls_strerror(rc));
		gnutls_deinit(s);
		return -1;
	}
	gnutls_transport_set_int(s, io->fd);
	/* -1: no deadline; 0: the negotiation's deadline has passed (and 0
	 * would mean "forever" to GnuTLS). */
	gnutls_handshake_set_timeout(s, timeout_ms < 0 ? GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT :
					timeout_ms ? (unsigned)timeout_ms : 1);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		snprintf(err, errlen, "TLS handshake failed: %s", gnutls_strerror(rc));
		gnutls_deinit(s);
		return -1;
	}
	io->tls = s;
	return 0;
}
