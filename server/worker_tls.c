/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "common/log.h"
#include "monitor.h"
#include "engine/tls_keyholder.h"
#include "worker_tls.h"

static int monitor = -1;
static struct mon_reply reply;		/* large: not on the stack */

/* One round trip; the answer's bytes into out. */
static int ask(struct mon_request *rq, void *out, size_t max, size_t *len)
{
	if (monitor_call(monitor, rq, &reply, NULL, NULL) < 0) {
		errno = EIO;
		return -1;
	}
	if (reply.status) {
		errno = reply.status;
		return -1;
	}
	*len = reply.len;
	if (reply.len > max) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(out, reply.data, reply.len);
	return 0;
}

static int remote_sign(void *ctx, uint32_t algo, uint32_t flags, const void *data,
		       size_t len, void *sig, size_t sigmax, size_t *siglen)
{
	static struct mon_request rq;

	(void)ctx;
	if (len > sizeof(rq.data)) {
		errno = EINVAL;
		return -1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.type = MON_SIGN;
	rq.algo = algo;
	rq.flags = flags;
	rq.len = (uint32_t)len;
	memcpy(rq.data, data, len);
	return ask(&rq, sig, sigmax, siglen);
}

static int remote_psk_key(void *ctx, const char *identity, void *key, size_t keymax,
			  size_t *keylen)
{
	static struct mon_request rq;
	size_t n = strlen(identity);

	(void)ctx;
	if (n > CNBD_TLS_PSK_MAX_IDENTITY) {
		errno = EINVAL;
		return -1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.type = MON_PSK;
	rq.len = (uint32_t)n;
	memcpy(rq.data, identity, n);
	return ask(&rq, key, keymax, keylen);
}

static const struct cnbd_tls_remote_ops ops = {
	.sign = remote_sign,
	.psk_key = remote_psk_key,
};

int worker_tls_init(void)
{
	int rc = gnutls_global_init();

	if (rc < 0) {
		log_error("TLS: cannot set GnuTLS up: %s", gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

const struct cnbd_tls *worker_tls_new(int monitor_fd)
{
	static struct mon_request rq = { .type = MON_TLS_PUBLIC };
	struct cnbd_tls *tls;
	char err[256];

	monitor = monitor_fd;
	if (monitor_call(monitor, &rq, &reply, NULL, NULL) < 0 || reply.status) {
		log_error("TLS: the master gave no credentials");
		return NULL;
	}
	tls = cnbd_tls_remote_new(reply.data, reply.len, &ops, NULL, err, sizeof(err));
	if (!tls)
		log_error("TLS: %s", err);
	return tls;
}
