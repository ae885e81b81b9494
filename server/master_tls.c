/* SPDX-License-Identifier: MIT */
/*
 * TLS for workers, from the master's side: the public credentials to
 * anyone who asks, and the two uses of secrets (a signature with the
 * X.509 key, one PSK's key) once per connection, and only to a worker
 * the master started with the TLS handshake first. The key never
 * leaves this process.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/log.h"
#include "master.h"
#include "engine/tls_keyholder.h"

static void answer(struct master *m, struct worker *w, struct mon_reply *r, int status)
{
	r->status = status;
	if (status)
		r->len = 0;
	master_monitor_answer(m, w, r, NULL, 0);
}

/* Once per connection: a second request is a worker gone wrong. */
static bool may_use_secret(struct master *m, struct worker *w, bool *used, const char *what)
{
	if (m->tls && w->tls_first && !*used) {
		*used = true;
		return true;
	}
	log_rated(&m->worker_log, LOG_WARNING, "worker %d: refused %s: %s", (int)w->pid, what,
		  !m->tls ? "TLS is off" : !w->tls_first ? "it did not begin with TLS" :
		  "asked twice in one connection");
	return false;
}

static int sign(struct master *m, struct worker *w, const struct mon_request *rq,
		struct mon_reply *r)
{
	size_t len = 0;

	if (!may_use_secret(m, w, &w->signed_once, "a signature"))
		return EPERM;
	if (cnbd_tls_sign(m->tls, rq->algo, rq->flags, rq->data, rq->len, r->data,
			  CNBD_TLS_SIGN_MAX_SIG, &len) < 0) {
		log_rated(&m->worker_log, LOG_WARNING, "worker %d: refused to sign: %s",
			  (int)w->pid, strerror(errno));
		return errno ? errno : EINVAL;
	}
	r->len = (uint32_t)len;
	return 0;
}

static int psk(struct master *m, struct worker *w, const struct mon_request *rq,
	       struct mon_reply *r)
{
	char identity[CNBD_TLS_PSK_MAX_IDENTITY + 1];
	size_t len = 0;

	if (rq->len > CNBD_TLS_PSK_MAX_IDENTITY || memchr(rq->data, '\0', rq->len))
		return EINVAL;
	memcpy(identity, rq->data, rq->len);
	identity[rq->len] = '\0';
	if (!may_use_secret(m, w, &w->psk_once, "a PSK"))
		return EPERM;
	if (cnbd_tls_psk_key(m->tls, identity, r->data, CNBD_TLS_PSK_MAX_KEY, &len) < 0)
		return errno ? errno : ENOENT;
	r->len = (uint32_t)len;
	return 0;
}

static int public_part(struct master *m, struct mon_reply *r)
{
	size_t len = 0;

	if (!m->tls || cnbd_tls_public_export(m->tls, r->data, sizeof(r->data), &len) < 0)
		return m->tls ? EIO : EPERM;
	r->len = (uint32_t)len;
	return 0;
}

void master_tls_request(struct master *m, struct worker *w, const struct mon_request *rq)
{
	struct mon_reply *r = master_reply(rq->type);
	int status;

	if (rq->type == MON_SIGN)
		status = sign(m, w, rq, r);
	else if (rq->type == MON_PSK)
		status = psk(m, w, rq, r);
	else
		status = public_part(m, r);
	answer(m, w, r, status);
}
