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
#include <unistd.h>

#include "common/log.h"
#include "engine/tls_creds.h"
#include "engine/tls_server.h"
#include "common/trusted_path.h"

#define PSK_PRIORITY	"NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"

/* A credentials file is small; refuse to slurp something that is not. */
#define TLS_FILE_MAX	(1 << 20)

/*
 * The bytes of a credentials file, read from the descriptor that was
 * checked. As root the path is walked from "/" (trusted_open): a key or a
 * CA that someone else could replace would let them impersonate the
 * server or vouch for any client. 0 with the bytes in out (NUL after
 * them; free with drop_file), or -1 with err and errno (ENOENT: absent).
 */
static int read_file(const char *path, gnutls_datum_t *out, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, e;

	out->data = NULL;
	out->size = 0;
	fd = trusted_open_if(path, TRUSTED_FILE, geteuid() == 0, err, errlen);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (st.st_size > TLS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, TLS_FILE_MAX);
		close(fd);
		errno = EFBIG;
		return -1;
	}
	out->data = malloc(st.st_size + 1);
	if (!out->data)
		goto fail;
	while (got < (size_t)st.st_size) {
		n = read(fd, out->data + got, st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		got += n;
	}
	out->data[got] = '\0';
	out->size = got;
	close(fd);
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "%s: %s", path, strerror(e));
	free(out->data);
	out->data = NULL;
	close(fd);
	errno = e;
	return -1;
}

/* Wiped: one of them is a private key. */
static void drop_file(gnutls_datum_t *d)
{
	if (d->data)
		gnutls_memset(d->data, 0, d->size);
	free(d->data);
	d->data = NULL;
	d->size = 0;
}

static int load_x509(struct cnbd_tls *t, const char *dir, char *err, size_t errlen)
{
	char cert[4096], key[4096], ca[4096];
	gnutls_datum_t cert_pem, key_pem, ca_pem;
	int rc = -1, grc;

	snprintf(cert, sizeof(cert), "%s/server-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/server-key.pem", dir);
	snprintf(ca, sizeof(ca), "%s/ca-cert.pem", dir);
	if (read_file(cert, &cert_pem, err, errlen) < 0 ||
	    read_file(key, &key_pem, err, errlen) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s must hold server-cert.pem and server-key.pem", dir);
		drop_file(&cert_pem);
		return -1;
	}
	gnutls_certificate_allocate_credentials(&t->x509);
	grc = gnutls_certificate_set_x509_key_mem2(t->x509, &cert_pem, &key_pem,
						   GNUTLS_X509_FMT_PEM, NULL, 0);
	if (grc < 0) {
		snprintf(err, errlen, "%s, %s: %s", cert, key, gnutls_strerror(grc));
		goto out;
	}
	if (read_file(ca, &ca_pem, err, errlen) == 0) {
		grc = gnutls_certificate_set_x509_trust_mem(t->x509, &ca_pem, GNUTLS_X509_FMT_PEM);
		drop_file(&ca_pem);
		if (grc < 0) {
			snprintf(err, errlen, "%s: %s", ca, gnutls_strerror(grc));
			goto out;
		}
	} else if (errno != ENOENT) {
		goto out;		/* there, but refused or unreadable */
	} else if (t->verify_clients) {
		snprintf(err, errlen, "verifying clients needs %s/ca-cert.pem", dir);
		goto out;
	}
	rc = 0;
out:
	drop_file(&cert_pem);
	drop_file(&key_pem);
	return rc;
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
	struct tls_conn *c = gnutls_session_get_ptr(session);
	const struct cnbd_tls *t;
	char esc[LOG_ESCAPE_SIZE];

	if (!c)		/* after the handshake */
		return -1;
	t = c->tls;
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
	int fd = trusted_open_if(path, TRUSTED_FILE, geteuid() == 0, err, errlen);
	char line[1024];
	int lineno = 0, rc = 0;
	FILE *f;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
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
	tls_remote_free(t->remote);
	free(t);
}

static int session_setup(struct tls_conn *c, gnutls_session_t s)
{
	const struct cnbd_tls *t = c->tls;
	const char *prio = t->remote ? tls_remote_priority(t) :
			   t->psk ? PSK_PRIORITY : "NORMAL";
	int rc = gnutls_priority_set_direct(s, prio, NULL);

	if (rc == 0 && t->x509) {
		rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->x509);
		if (rc == 0 && t->verify_clients) {
			gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
			gnutls_session_set_verify_cert(s, NULL, 0);
		}
	}
	if (rc == 0 && t->psk)
		rc = gnutls_credentials_set(s, GNUTLS_CRD_PSK, t->psk);
	gnutls_session_set_ptr(s, c);
	return rc;
}

enum tls_result tls_server_handshake(const struct cnbd_tls *t, struct conn_io *io,
				     int timeout_ms, char *err, size_t errlen)
{
	struct tls_conn c = { .tls = t };
	gnutls_session_t s;
	int rc;

	/* NO_SIGNAL: a client that has gone is an error for this connection,
	 * never a SIGPIPE for the program embedding the engine. */
	rc = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL);
	if (rc == 0)
		rc = session_setup(&c, s);
	if (rc < 0) {
		snprintf(err, errlen, "TLS setup: %s", gnutls_strerror(rc));
		gnutls_deinit(s);
		return TLS_NOT_STARTED;
	}
	gnutls_transport_set_int(s, io->fd);
	/* -1: no deadline; 0: the negotiation's deadline has passed (and 0
	 * would mean "forever" to GnuTLS). */
	gnutls_handshake_set_timeout(s, timeout_ms < 0 ? GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT :
					timeout_ms ? (unsigned)timeout_ms : 1);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	/* c lives on this stack: later lookups find none (and fail). */
	gnutls_session_set_ptr(s, NULL);
	gnutls_memset(c.key, 0, sizeof(c.key));
	if (rc < 0) {
		snprintf(err, errlen, "TLS handshake failed: %s", gnutls_strerror(rc));
		/* Tell the client why (a refused certificate, no shared
		 * cipher...), rather than leave it a dropped connection. */
		gnutls_alert_send_appropriate(s, rc);
		gnutls_deinit(s);
		return TLS_FAILED;
	}
	io->tls = s;
	return TLS_ESTABLISHED;
}
