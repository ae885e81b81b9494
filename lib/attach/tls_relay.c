/* SPDX-License-Identifier: MIT */
/*
 * Two threads per relayed connection: "up" reads what the kernel sends
 * (requests, write payloads) from the socketpair and sends it as TLS
 * records; "down" receives records from the server and writes their
 * plaintext (replies, read payloads) to the kernel. GnuTLS allows one
 * thread sending and one receiving on a session at once. The last thread
 * to finish frees the relay.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clientlib/client.h"
#include "common/log.h"
#include "attach/quiet_thread.h"
#include "attach/tls_relay.h"

#define RELAY_BUF	(64 * 1024)

struct relay {
	gnutls_session_t session;
	void *creds;
	int net;		/* to the server, carrying TLS */
	int local;		/* our end of the kernel's socketpair */
	char who[64];
	atomic_int threads;
	atomic_bool ended;
	unsigned char up_buf[RELAY_BUF];
	unsigned char down_buf[RELAY_BUF];
};

static void relay_put(struct relay *r)
{
	if (atomic_fetch_sub(&r->threads, 1) != 1)
		return;
	client_tls_release(r->session, r->creds, false);
	close(r->net);
	close(r->local);
	free(r);
}

/* The first end is the one logged; both sides are shut down, which wakes
 * the other thread and shows the kernel a dead connection. */
static void relay_end(struct relay *r, bool quiet, const char *fmt, const char *why)
{
	if (atomic_exchange(&r->ended, true))
		return;
	if (!quiet)
		log_warn(fmt, r->who, why);
	shutdown(r->local, SHUT_RDWR);
	shutdown(r->net, SHUT_RDWR);
}

static void *relay_up(void *arg)
{
	struct relay *r = arg;

	for (;;) {
		ssize_t n = recv(r->local, r->up_buf, sizeof(r->up_buf), 0);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The kernel let go (detach, or it gave the connection
			 * up): tell the server cleanly when we still can. */
			if (!atomic_load(&r->ended) && n == 0)
				gnutls_bye(r->session, GNUTLS_SHUT_WR);
			relay_end(r, n == 0, "%s: TLS relay: reading from the kernel: %s",
				  n < 0 ? strerror(errno) : "");
			break;
		}
		while (off < (size_t)n) {
			ssize_t w = gnutls_record_send(r->session, r->up_buf + off, n - off);

			if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
				continue;
			if (w < 0) {
				relay_end(r, false, "%s: TLS relay: sending to the server: %s",
					  gnutls_strerror(w));
				goto out;
			}
			off += w;
		}
	}
out:
	relay_put(r);
	return NULL;
}

static int write_local(struct relay *r, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t w = send(r->local, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= w;
	}
	return 0;
}

static void *relay_down(void *arg)
{
	struct relay *r = arg;

	for (;;) {
		ssize_t n = gnutls_record_recv(r->session, r->down_buf, sizeof(r->down_buf));

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == 0) {
			relay_end(r, false, "%s: TLS relay: %s",
				  "the server ended the TLS session (close_notify or EOF)");
			break;
		}
		if (n < 0) {
			/* An alert names itself; anything else is GnuTLS's. */
			if (n == GNUTLS_E_FATAL_ALERT_RECEIVED || n == GNUTLS_E_WARNING_ALERT_RECEIVED) {
				char why[128];

				const char *alert = gnutls_alert_get_name(gnutls_alert_get(r->session));

				snprintf(why, sizeof(why), "the server sent the TLS alert '%s'",
					 alert ? alert : "unknown");
				relay_end(r, false, "%s: TLS relay: %s", why);
			} else {
				relay_end(r, atomic_load(&r->ended),
					  "%s: TLS relay: receiving from the server: %s",
					  gnutls_strerror(n));
			}
			break;
		}
		if (write_local(r, r->down_buf, n) < 0) {
			relay_end(r, true, "%s: TLS relay: writing to the kernel: %s",
				  strerror(errno));
			break;
		}
	}
	relay_put(r);
	return NULL;
}

int tls_relay_start(const char *who, gnutls_session_t session, void *creds, int net,
		    char *err, size_t errlen)
{
	struct relay *r = calloc(1, sizeof(*r));
	pthread_attr_t attr;
	pthread_t t;
	int sp[2];

	if (!r || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(err, errlen, "TLS relay: %s", r ? strerror(errno) : "out of memory");
		free(r);
		client_tls_release(session, creds, false);
		close(net);
		return -1;
	}
	r->session = session;
	r->creds = creds;
	r->net = net;
	r->local = sp[1];
	snprintf(r->who, sizeof(r->who), "%s", who);
	atomic_init(&r->threads, 2);
	atomic_init(&r->ended, false);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (quiet_thread_create(&t, &attr, relay_up, r) != 0) {
		pthread_attr_destroy(&attr);
		snprintf(err, errlen, "TLS relay: cannot start its threads");
		close(sp[0]);
		atomic_store(&r->threads, 1);
		relay_put(r);
		return -1;
	}
	if (quiet_thread_create(&t, &attr, relay_down, r) != 0) {
		/* up ends once the kernel's end is closed and shut */
		relay_end(r, true, "%s%s", "");
		relay_put(r);
		close(sp[0]);
		pthread_attr_destroy(&attr);
		snprintf(err, errlen, "TLS relay: cannot start its threads");
		return -1;
	}
	pthread_attr_destroy(&attr);
	return sp[0];
}
