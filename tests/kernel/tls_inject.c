/* SPDX-License-Identifier: MIT */
/*
 * tls-inject: a test-only NBD proxy that terminates TLS and, on the
 * connections its plan names, sends the client what kernel TLS cannot
 * follow once a number of bytes has gone to the client: a TLS 1.3
 * KeyUpdate (gnutls_session_key_update) or a fatal alert. The relaying
 * goes on afterwards, with the records a correct TLS peer would send
 * (under the new keys after a KeyUpdate, the old ones after an alert),
 * so a client that skipped the record would carry on and be caught.
 *
 *   tls-inject LISTEN_PORT UPSTREAM_PORT CERT_DIR PLAN
 *
 * CERT_DIR holds server-cert.pem and server-key.pem. PLAN is one word
 * per connection in the order they arrive, comma-separated: pass,
 * keyupdate@BYTES or alert@BYTES; connections past the plan pass. The
 * upstream is a plaintext NBD server on 127.0.0.1: the greeting and the
 * client's flags are passed on, the client's STARTTLS is answered here
 * and never reaches it, and everything after goes through in the clear.
 * A client that sends no STARTTLS is relayed as it is. One line on
 * stdout per connection and per injection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cnbd/protocol.h"
#include "common/conn_io.h"
#include "common/wire.h"

#define MAX_PLAN	32

enum action { PASS, KEY_UPDATE, ALERT };

struct step {
	enum action what;
	unsigned long long at;		/* bytes to the client first */
};

struct conn {
	int n, client, upstream;
	struct step step;
};

static struct step plan[MAX_PLAN];
static int nplan, upstream_port;
static gnutls_certificate_credentials_t cred;

static void die(const char *what)
{
	fprintf(stderr, "tls-inject: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int parse_plan(char *s)
{
	for (char *w = strtok(s, ","); w; w = strtok(NULL, ",")) {
		struct step *st = &plan[nplan];
		char *at = strchr(w, '@');

		if (nplan == MAX_PLAN)
			return -1;
		if (at)
			*at++ = '\0';
		if (!strcmp(w, "pass") && !at)
			st->what = PASS;
		else if (!strcmp(w, "keyupdate") && at)
			st->what = KEY_UPDATE;
		else if (!strcmp(w, "alert") && at)
			st->what = ALERT;
		else
			return -1;
		st->at = at ? strtoull(at, NULL, 0) : 0;
		nplan++;
	}
	return 0;
}

/* Through GnuTLS, as the server engine sends (lib/conn_io.h). */
static int tls_send(gnutls_session_t s, int fd, uint8_t *p, size_t len)
{
	struct conn_io io = { .fd = fd, .tls = s };
	struct iovec iov = { .iov_base = p, .iov_len = len };

	return conn_writev(&io, &iov, 1, false);
}

static void inject(struct conn *c, gnutls_session_t s, unsigned long long sent)
{
	int rc;

	if (c->step.what == KEY_UPDATE)
		rc = gnutls_session_key_update(s, 0);
	else
		rc = gnutls_alert_send(s, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
	printf("connection %d: %s after %llu bytes to the client: %s\n", c->n,
	       c->step.what == KEY_UPDATE ? "KeyUpdate" : "alert 'Internal error'",
	       sent, rc < 0 ? gnutls_strerror(rc) : "sent");
	fflush(stdout);
}

/* Upstream's bytes to the client through TLS, injecting on the way. */
static int downstream(struct conn *c, gnutls_session_t s, unsigned long long *sent)
{
	uint8_t buf[65536];
	ssize_t n = read(c->upstream, buf, sizeof(buf));

	if (n <= 0)
		return -1;
	if (c->step.what != PASS && *sent < c->step.at && *sent + n >= c->step.at) {
		size_t first = c->step.at - *sent;

		if (tls_send(s, c->client, buf, first) < 0)
			return -1;
		inject(c, s, c->step.at);
		*sent += n;
		return tls_send(s, c->client, buf + first, n - first);
	}
	*sent += n;
	return tls_send(s, c->client, buf, n);
}

static int upstream_bound(struct conn *c, gnutls_session_t s)
{
	struct conn_io io = { .fd = c->client, .tls = s };
	uint8_t buf[65536];
	ssize_t n = conn_read_some(&io, buf, sizeof(buf));

	if (n <= 0)
		return -1;
	return write_full(c->upstream, buf, n);
}

static void relay_tls(struct conn *c, gnutls_session_t s)
{
	struct pollfd pfd[2] = {
		{ .fd = c->client, .events = POLLIN },
		{ .fd = c->upstream, .events = POLLIN },
	};
	unsigned long long sent = 0;

	for (;;) {
		if (gnutls_record_check_pending(s) == 0 && poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if ((gnutls_record_check_pending(s) > 0 || pfd[0].revents) &&
		    upstream_bound(c, s) < 0)
			return;
		if (pfd[1].revents && downstream(c, s, &sent) < 0)
			return;
		pfd[0].revents = pfd[1].revents = 0;
	}
}

static void relay_plain(struct conn *c)
{
	struct pollfd pfd[2] = {
		{ .fd = c->client, .events = POLLIN },
		{ .fd = c->upstream, .events = POLLIN },
	};
	uint8_t buf[65536];

	while (poll(pfd, 2, -1) > 0) {
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!pfd[i].revents)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n <= 0 || write_full(pfd[1 - i].fd, buf, n) < 0)
				return;
		}
	}
}

static int start_tls(struct conn *c, gnutls_session_t *out)
{
	uint8_t ack[20];
	gnutls_session_t s;
	int rc;

	put_be64(ack, NBD_REP_MAGIC);
	put_be32(ack + 8, NBD_OPT_STARTTLS);
	put_be32(ack + 12, NBD_REP_ACK);
	put_be32(ack + 16, 0);
	if (write_full(c->client, ack, sizeof(ack)) < 0)
		return -1;
	gnutls_init(&s, GNUTLS_SERVER);
	gnutls_priority_set_direct(s, "NORMAL", NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, c->client);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		printf("connection %d: TLS handshake failed: %s\n", c->n, gnutls_strerror(rc));
		gnutls_deinit(s);
		return -1;
	}
	*out = s;
	return 0;
}

static int connect_upstream(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(upstream_port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Greeting and flags through, then the first option decides. */
static void serve(struct conn *c)
{
	uint8_t greeting[18], flags[4], opt[16];
	gnutls_session_t s;

	if (read_full(c->upstream, greeting, sizeof(greeting)) < 0 ||
	    write_full(c->client, greeting, sizeof(greeting)) < 0 ||
	    read_full(c->client, flags, sizeof(flags)) < 0 ||
	    write_full(c->upstream, flags, sizeof(flags)) < 0 ||
	    read_full(c->client, opt, sizeof(opt)) < 0)
		return;
	if (get_be32(opt + 8) != NBD_OPT_STARTTLS) {
		printf("connection %d: no STARTTLS, relayed as it is\n", c->n);
		fflush(stdout);
		if (write_full(c->upstream, opt, sizeof(opt)) == 0)
			relay_plain(c);
		return;
	}
	if (start_tls(c, &s) < 0)
		return;
	printf("connection %d: TLS (%s %s), %s\n", c->n,
	       gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
	       gnutls_cipher_get_name(gnutls_cipher_get(s)),
	       c->step.what == PASS ? "passed through" : "injecting");
	fflush(stdout);
	relay_tls(c, s);
	gnutls_deinit(s);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	serve(c);
	printf("connection %d: closed\n", c->n);
	fflush(stdout);
	close(c->client);
	close(c->upstream);
	free(c);
	return NULL;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
		die("listen");
	return fd;
}

static void load_credentials(const char *dir)
{
	char cert[4096], key[4096];
	int rc;

	snprintf(cert, sizeof(cert), "%s/server-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/server-key.pem", dir);
	gnutls_certificate_allocate_credentials(&cred);
	rc = gnutls_certificate_set_x509_key_file(cred, cert, key, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		fprintf(stderr, "tls-inject: %s, %s: %s\n", cert, key, gnutls_strerror(rc));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int lfd, n = 0;

	static const char usage[] = "usage: tls-inject LISTEN_PORT UPSTREAM_PORT CERT_DIR "
				    "pass|keyupdate@BYTES|alert@BYTES[,...]\n"
				    "(a test-only TLS proxy: tests/kernel/tls_inject.c says what it does)\n";

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 5 || parse_plan(argv[4]) < 0) {
		fputs(usage, stderr);
		return 2;
	}
	upstream_port = atoi(argv[2]);
	load_credentials(argv[3]);
	lfd = listen_on(atoi(argv[1]));
	for (;;) {
		struct conn *c = calloc(1, sizeof(*c));
		pthread_t t;

		if (!c)
			die("calloc");
		c->client = accept(lfd, NULL, NULL);
		if (c->client < 0)
			die("accept");
		c->n = ++n;
		c->step = n <= nplan ? plan[n - 1] : (struct step){ PASS, 0 };
		c->upstream = connect_upstream();
		if (c->upstream < 0) {
			printf("connection %d: upstream refused: %s\n", c->n, strerror(errno));
			close(c->client);
			free(c);
			continue;
		}
		if (pthread_create(&t, NULL, conn_thread, c) != 0)
			die("pthread_create");
		pthread_detach(t);
	}
}
