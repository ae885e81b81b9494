/* SPDX-License-Identifier: MIT */
/*
 * The master's side of the monitor socket (monitor.h). Each worker
 * message is read whole, once per poll round per worker, checked, and
 * answered at once without blocking; anything malformed closes that
 * worker's monitor socket, and every line a worker can cause goes
 * through log_rated().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "master.h"
#include "common/peer.h"
#include "sandbox.h"
#include "worker_spawn.h"

struct mon_reply *master_reply(uint32_t type)
{
	static struct mon_reply r;

	memset(&r, 0, offsetof(struct mon_reply, data));
	r.type = type;
	return &r;
}

void master_monitor_answer(struct master *m, struct worker *w,
			   const struct mon_reply *r, const int *fds, size_t nfds)
{
	if (monitor_send(w->fd, r, MON_REPLY_SIZE(r), fds, nfds) < 0)
		log_rated(&m->worker_log, LOG_WARNING, "worker %d: answer not delivered: %s",
			  (int)w->pid, strerror(errno));
}

bool master_admits(const struct worker *w, const struct cnbd_export *exp)
{
	return acl_admits(&export_list_config(exp)->acl, &w->peer);
}

/* A tls = require export is a name and nothing more to a worker that
 * has not begun with TLS: the engine answers TLS_REQD for it. So is an
 * export whose allow/deny lists refuse the worker's client: the engine
 * answers POLICY. */
void master_describe(const struct master *m, const struct worker *w,
		     const struct cnbd_export *exp, struct mon_export *out)
{
	(void)m;
	memset(out, 0, sizeof(*out));
	if (!exp)
		return;
	out->found = 1;
	out->tls_required = exp->tls_required;
	snprintf(out->name, sizeof(out->name), "%s", exp->name);
	out->generation = exp->generation;
	if (!master_admits(w, exp)) {
		out->refused = 1;
		return;
	}
	if (exp->tls_required && !w->tls_first)
		return;
	out->readonly = exp->readonly;
	out->flags = exp->flags;
	out->size = exp->size;
	out->min_block = exp->min_block;
	out->pref_block = exp->pref_block;
	out->max_block = exp->max_block;
	snprintf(out->backend, sizeof(out->backend), "%s", exp->backend->name);
	if (exp->description) {
		out->description_len = strnlen(exp->description, NBD_MAX_STRING);
		memcpy(out->description, exp->description, out->description_len);
	}
}

static void answer_export(struct master *m, struct worker *w, const struct mon_request *rq)
{
	struct mon_reply *r = master_reply(rq->type);
	const struct cnbd_export *exp;

	if (rq->type == MON_FIND)
		exp = export_list_find(&m->exports, rq->name);
	else
		exp = export_list_at(&m->exports, rq->index);
	master_describe(m, w, exp, &r->exp);
	/* LIST leaves it out: not even its name goes to the worker. A
	 * FIND is INFO, GO or a meta context option: refused. */
	if (r->exp.refused && rq->type == MON_AT) {
		memset(r->exp.name, 0, sizeof(r->exp.name));
	} else if (r->exp.refused && w->refusal_logged != exp->generation) {
		/* Once, not again for the GO after an INFO (nbdinfo). */
		w->refusal_logged = exp->generation;
		log_rated(&m->refusal_log, LOG_INFO,
			  "worker %d %s: export '%s' refused by its allow/deny lists",
			  (int)w->pid, w->peer_name, exp->name);
	}
	master_monitor_answer(m, w, r, NULL, 0);
}

/* The filter a worker loads before it reads its client: compiled once
 * by the master, since compiling it was a fifth of a worker's start. */
static void answer_sandbox(struct master *m, struct worker *w, const struct mon_request *rq)
{
	struct mon_reply *r = master_reply(rq->type);
	int which = rq->flags == SANDBOX_NEEDS_NETWORK ? 1 : rq->flags == 0 ? 0 : -1;

	if (which < 0 || !m->sandbox_len[which]) {
		r->status = EINVAL;
	} else {
		memcpy(r->data, m->sandbox_prog[which], m->sandbox_len[which]);
		r->len = (uint32_t)m->sandbox_len[which];
	}
	master_monitor_answer(m, w, r, NULL, 0);
}

/* The client's socket, handed back after STARTTLS's ACK, goes to a
 * fresh worker that begins with the handshake. It is the same client:
 * the new worker is who the old one was, as the master learnt at
 * accept, whatever socket the old one sent (it could be its monitor's,
 * whose peer is the master itself). */
static void hand_off(struct master *m, struct worker *w, const struct mon_request *rq,
		     int client_fd)
{
	char peer[PEER_NAME_MAX];
	struct acl_peer id;

	if (client_fd < 0 || !m->tls || w->tls_first || w->handed_off) {
		log_rated(&m->worker_log, LOG_WARNING,
			  "worker %d: a TLS hand-off it may not make: ignored", (int)w->pid);
		if (client_fd >= 0)
			close(client_fd);
		return;
	}
	w->handed_off = true;
	if (acl_peer_copy(&id, &w->peer) < 0) {
		log_error("worker %d: out of memory for its TLS hand-off: dropping the connection",
			  (int)w->pid);
		close(client_fd);
		return;
	}
	snprintf(peer, sizeof(peer), "%s", w->peer_name);
	/* w may move: the list grows by the new worker. */
	master_start_worker(m, client_fd, &id, peer, true, rq->flags & 1);
}

static void dispatch(struct master *m, struct worker *w, const struct mon_request *rq,
		     int fd)
{
	switch (rq->type) {
	case MON_FIND:
	case MON_AT:
		answer_export(m, w, rq);
		break;
	case MON_LEASE:
		master_lease_request(m, w, rq);
		break;
	case MON_HAND_OFF:
		hand_off(m, w, rq, fd);
		fd = -1;
		break;
	case MON_SANDBOX:
		answer_sandbox(m, w, rq);
		break;
	case MON_TLS_PUBLIC:
	case MON_SIGN:
	case MON_PSK:
		master_tls_request(m, w, rq);
		break;
	default:
		log_rated(&m->worker_log, LOG_WARNING, "worker %d: unknown request %u",
			  (int)w->pid, rq->type);
	}
	if (fd >= 0)
		close(fd);
}

/* Believed only once: what the master logs when it reaps the worker.
 * A compromised worker could lie here, about itself alone. */
static void sandbox_reported(struct worker *w, const struct sandbox_report *r)
{
	if (r->magic != SANDBOX_REPORT_MAGIC || w->sandbox_syscall >= 0)
		return;
	w->sandbox_syscall = r->syscall_nr;
	w->sandbox_arch = r->arch;
}

static union {
	struct mon_request rq;
	struct sandbox_report sr;
} msg;

/* One message into msg: its length (0: none waiting, -1: closed or
 * broken), with at most one descriptor in *fd. */
static ssize_t receive(struct worker *w, int *fd)
{
	size_t nfds = 1;
	ssize_t n;

	*fd = -1;
	n = monitor_recv(w->fd, &msg, sizeof(msg), fd, &nfds);
	if (!nfds)
		*fd = -1;
	if (n == sizeof(msg.rq)) {
		msg.rq.name[MON_NAME_MAX] = '\0';
		if (msg.rq.len > MON_DATA_MAX)
			msg.rq.len = MON_DATA_MAX;
	}
	return n;
}

/* A worker that has just ended may have left its last words unread: a
 * hand-off (it gave its client away and ended at once) and its
 * sandbox's report. Nothing else from it is worth an answer. w may
 * move (a worker started): look it up again after. */
void master_monitor_last_words(struct master *m, struct worker *w)
{
	for (int i = 0; w->fd >= 0 && i < 16; i++) {
		int fd;
		ssize_t n = receive(w, &fd);

		if (n <= 0)
			break;
		if (n == sizeof(msg.rq) && msg.rq.type == MON_HAND_OFF) {
			/* Last: starting a worker may move the list, and w. */
			hand_off(m, w, &msg.rq, fd);
			return;
		}
		if (fd >= 0)
			close(fd);
		if (n == sizeof(msg.sr))
			sandbox_reported(w, &msg.sr);
	}
}

void master_monitor_read(struct master *m, pid_t pid)
{
	struct worker *w = worker_list_get(&m->workers, pid);
	int fd;
	ssize_t n;

	if (!w || w->fd < 0)
		return;
	n = receive(w, &fd);
	if (n == 0)
		return;
	if (n == sizeof(msg.rq)) {
		dispatch(m, w, &msg.rq, fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (n == sizeof(msg.sr)) {
		sandbox_reported(w, &msg.sr);
		return;
	}
	/* Closed (the worker is ending) or garbage: no more requests. The
	 * lease, if any, lasts until the worker is reaped. */
	if (n > 0)
		log_rated(&m->worker_log, LOG_WARNING,
			  "worker %d: a %zd-byte message that is no request: not listening to it any more",
			  (int)pid, n);
	close(w->fd);
	w->fd = -1;
}
