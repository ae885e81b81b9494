/* SPDX-License-Identifier: MIT */
/*
 * STARTTLS, client side, for tools that speak NBD themselves (nbdctl
 * exports, cnbd-io, tests). X.509: trust ca-cert.pem from the directory,
 * offer client-cert.pem/client-key.pem when present, and check the
 * server's name (the names nbdkit, qemu and libnbd use). PSK: the identity
 * from nbds://USER@host (default: the login name) and its key from a
 * psktool file. The client daemon negotiates through here too, then
 * takes the session over (client_tls_take) for kernel TLS or its relay.
 */
#include <errno.h>
#include <pwd.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientlib/client_priv.h"
#include "common/conn_io.h"

struct client_creds {
	gnutls_certificate_credentials_t x509;
	gnutls_psk_client_credentials_t psk;
};

static bool exists(const char *dir, const char *name, char *path, size_t size)
{
	struct stat st;

	snprintf(path, size, "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* Credentials load before STARTTLS is sent: a failure is CLIENT_INVALID,
 * the connection untouched. */
static enum client_result x509_creds(struct nbd_client *c, const struct nbd_uri *uri,
				     struct client_creds *cr)
{
	char ca[1100], cert[1100], key[1100];
	int rc;

	gnutls_certificate_allocate_credentials(&cr->x509);
	if (exists(uri->tls_certificates, "ca-cert.pem", ca, sizeof(ca)))
		rc = gnutls_certificate_set_x509_trust_file(cr->x509, ca, GNUTLS_X509_FMT_PEM);
	else
		rc = gnutls_certificate_set_x509_system_trust(cr->x509);
	if (rc < 0)
		return client_invalid(c, EINVAL, "TLS trust: %s", gnutls_strerror(rc));
	if (exists(uri->tls_certificates, "client-cert.pem", cert, sizeof(cert)) &&
	    exists(uri->tls_certificates, "client-key.pem", key, sizeof(key))) {
		rc = gnutls_certificate_set_x509_key_file(cr->x509, cert, key,
							  GNUTLS_X509_FMT_PEM);
		if (rc < 0)
			return client_invalid(c, EINVAL, "%s: %s", cert, gnutls_strerror(rc));
	}
	return CLIENT_OK;
}

/* libnbd's default identity: the local user name. A daemon has no
 * login session, so the effective user's name stands in for it. */
static const char *local_user(void)
{
	const char *who = getlogin();
	struct passwd *pw;

	if (who)
		return who;
	pw = getpwuid(geteuid());
	return pw ? pw->pw_name : NULL;
}

/* The key for identity from a psktool file ("identity:hexkey" lines). */
static enum client_result psk_creds(struct nbd_client *c, const struct nbd_uri *uri,
				    struct client_creds *cr)
{
	const char *who = uri->tls_username[0] ? uri->tls_username : local_user();
	char line[1024];
	FILE *f = fopen(uri->tls_psk_file, "re");
	int rc = -1;

	if (!f)
		return client_invalid(c, errno, "%s: %s", uri->tls_psk_file, strerror(errno));
	while (rc < 0 && who && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		gnutls_datum_t hex;

		line[strcspn(line, "\r\n")] = '\0';
		if (!colon || (size_t)(colon - line) != strlen(who) ||
		    strncmp(line, who, colon - line))
			continue;
		hex.data = (unsigned char *)colon + 1;
		hex.size = strlen(colon + 1);
		gnutls_psk_allocate_client_credentials(&cr->psk);
		rc = gnutls_psk_set_client_credentials(cr->psk, who, &hex, GNUTLS_PSK_KEY_HEX);
	}
	fclose(f);
	if (rc < 0)
		return client_invalid(c, EINVAL, "%s holds no usable key for '%s'",
				      uri->tls_psk_file, who ? who : "(no user)");
	return CLIENT_OK;
}

/* From here on STARTTLS is agreed: a failure leaves a connection neither
 * in the clear nor in TLS, CLIENT_FAILED. */
static enum client_result session_setup(struct nbd_client *c, const struct nbd_uri *uri,
					struct client_creds *cr, gnutls_session_t s)
{
	int rc;

	if (cr->psk) {
		rc = gnutls_priority_set_direct(s, "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK", NULL);
		if (rc == 0)
			rc = gnutls_credentials_set(s, GNUTLS_CRD_PSK, cr->psk);
	} else {
		rc = gnutls_priority_set_direct(s, "NORMAL", NULL);
		if (rc == 0)
			rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cr->x509);
		if (rc == 0 && uri->transport == URI_TCP) {
			gnutls_server_name_set(s, GNUTLS_NAME_DNS, uri->host, strlen(uri->host));
			if (!uri->tls_no_verify)
				gnutls_session_set_verify_cert(s, uri->host, 0);
		} else if (rc == 0 && !uri->tls_no_verify) {
			gnutls_session_set_verify_cert(s, NULL, 0);
		}
	}
	if (rc < 0)
		return client_fail(c, EINVAL, "TLS setup: %s", gnutls_strerror(rc));
	return CLIENT_OK;
}

/* Why the server's certificate was refused, in GnuTLS's words ("The
 * certificate issuer is unknown."), naming what it was checked against. */
static enum client_result verify_failed(struct nbd_client *c, const struct nbd_uri *uri,
					gnutls_session_t s)
{
	unsigned status = gnutls_session_get_verify_cert_status(s);
	gnutls_datum_t why = { 0 };
	enum client_result rc;

	gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
	rc = client_fail(c, EACCES,
			 "the server's certificate does not verify against %s%s%s: %s",
			 uri->tls_certificates[0] ? uri->tls_certificates : "the system's CAs",
			 uri->transport == URI_TCP ? " for host " : "",
			 uri->transport == URI_TCP ? uri->host : "",
			 why.data ? (char *)why.data : "rejected");
	gnutls_free(why.data);
	gnutls_deinit(s);
	return rc;
}

static enum client_result tls_handshake(struct nbd_client *c, const struct nbd_uri *uri,
					struct client_creds *cr)
{
	const struct timespec *deadline = client_deadline(c);
	unsigned ms = c->timeout > 0 ? (unsigned)c->timeout * 1000
				     : GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT;
	gnutls_session_t s;
	int left_ms, rc;

	/* NO_SIGNAL: a server that has gone must be an error to report (say,
	 * to close_notify after DISC), never a SIGPIPE that kills the program
	 * the library lives in. */
	if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0)
		return client_fail(c, ENOMEM, "TLS: cannot start a session");
	if (session_setup(c, uri, cr, s) != CLIENT_OK) {
		gnutls_deinit(s);
		return CLIENT_FAILED;
	}
	gnutls_transport_set_int(s, c->fd);
	/* The handshake is part of the negotiation: it gets what is left of
	 * the deadline when one is set (client_set_deadline), else the
	 * per-read timeout. 0 would mean no bound at all to GnuTLS. */
	left_ms = conn_ms_until(deadline);
	if (deadline && left_ms == 0) {
		gnutls_deinit(s);
		errno = ETIMEDOUT;
		return client_io_fail(c, "before the TLS handshake");
	}
	if (deadline)
		ms = (unsigned)left_ms;
	gnutls_handshake_set_timeout(s, ms);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		return verify_failed(c, uri, s);
	if (rc == GNUTLS_E_TIMEDOUT && deadline) {
		gnutls_deinit(s);
		errno = ETIMEDOUT;
		return client_io_fail(c, "in the TLS handshake");
	}
	if (rc < 0) {
		gnutls_deinit(s);
		return client_fail(c, EPROTO, "TLS handshake with the server failed: %s",
				   gnutls_strerror(rc));
	}
	c->tls = s;
	return CLIENT_OK;
}

enum client_result client_starttls(struct nbd_client *c, const struct nbd_uri *uri)
{
	struct client_creds *cr = calloc(1, sizeof(*cr));
	struct client_reply *r = malloc(sizeof(*r));
	enum client_result rc;

	if (!cr || !r) {
		rc = client_invalid(c, ENOMEM, "out of memory");
		goto out;
	}
	rc = uri->tls_psk_file[0] ? psk_creds(c, uri, cr) : x509_creds(c, uri, cr);
	if (rc == CLIENT_OK)
		rc = client_send_option(c, NBD_OPT_STARTTLS, NULL, 0);
	if (rc == CLIENT_OK)
		rc = client_read_reply(c, NBD_OPT_STARTTLS, r);
	if (rc != CLIENT_OK)
		goto out;
	if (r->type != NBD_REP_ACK) {
		rc = client_reply_error(c, NBD_OPT_STARTTLS, "STARTTLS", r);
		goto out;
	}
	rc = tls_handshake(c, uri, cr);
out:
	/* GnuTLS keeps referring to the credentials: they live as long as
	 * the session, freed by client_close(). */
	if (rc == CLIENT_OK)
		c->tls_creds = cr;
	else if (cr) {
		if (cr->x509)
			gnutls_certificate_free_credentials(cr->x509);
		if (cr->psk)
			gnutls_psk_free_client_credentials(cr->psk);
		free(cr);
	}
	free(r);
	return rc;
}

void client_tls_take(struct nbd_client *c, gnutls_session_t *session, void **creds)
{
	*session = c->tls;
	*creds = c->tls_creds;
	c->tls = NULL;
	c->tls_creds = NULL;
}

void client_tls_release(gnutls_session_t session, void *creds, bool bye)
{
	struct client_creds *cr = creds;

	if (session) {
		if (bye)
			gnutls_bye(session, GNUTLS_SHUT_WR);
		gnutls_deinit(session);
	}
	if (cr) {
		if (cr->x509)
			gnutls_certificate_free_credentials(cr->x509);
		if (cr->psk)
			gnutls_psk_free_client_credentials(cr->psk);
		free(cr);
	}
}

void client_tls_free(struct nbd_client *c)
{
	gnutls_session_t s;
	void *cr;

	client_tls_take(c, &s, &cr);
	client_tls_release(s, cr, true);
}
