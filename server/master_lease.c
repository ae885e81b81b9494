/* SPDX-License-Identifier: MIT */
/*
 * Granting leases. Leases are counted by export name, whatever the
 * definition a worker serves: a reload that changes an export (or a
 * remove and an add) does not reset its count, so a single-use export
 * stays single-use across it. A worker asks with the generation of the
 * definition it got at fork; one the master no longer offers (the
 * export was removed or changed since) is refused, so a client never
 * starts on a definition that is gone.
 *
 * A lease ends only when its worker is reaped: a worker could be made to
 * lie about being done, its exit cannot. A client that disconnects and
 * at once connects again can therefore ask before its old worker has
 * ended; so a request that finds the export full waits, up to
 * LEASE_WAIT_MS, for a worker of that export to end, instead of being
 * refused at once. A worker waits once: asking again while it waits
 * changes nothing.
 *
 * A grant carries the export itself: its description and its backend's
 * pack (export_pack), read-only for a read-only export. A tls = require
 * export is granted only to a worker that began with the TLS handshake.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend_load.h"
#include "backend/export_pack.h"
#include "backend/stack.h"
#include "common/log.h"
#include "master.h"

#define LEASE_WAIT_MS	250

enum verdict { GRANT, REFUSE, FULL };

struct lease_wait {
	pid_t pid;
	uint64_t generation;
	char name[MON_NAME_MAX + 1];
	int64_t deadline;
};

static bool at_limit(const struct master *m, const struct cnbd_export *e)
{
	return e->max_connections &&
	       worker_list_leases(&m->workers, e->name) >= e->max_connections;
}

static enum verdict decide(struct master *m, const struct worker *w,
			   const struct lease_wait *rq, char *why, size_t len)
{
	const struct export_entry *e = export_list_get(&m->exports, rq->name);
	const struct cnbd_export *exp = e ? &e->def.exp : NULL;

	if (!exp) {
		snprintf(why, len, "export '%s' was removed", rq->name);
		return REFUSE;
	}
	if (exp->generation != rq->generation) {
		snprintf(why, len, "export '%s' was redefined since this connection began; connect again",
			 rq->name);
		return REFUSE;
	}
	/* The engine refuses first; this is for a worker that asks anyway. */
	if (!master_admits(w, exp)) {
		snprintf(why, len, "export '%s' is not open to this client", rq->name);
		return REFUSE;
	}
	if (exp->tls_required && !w->tls_first) {
		snprintf(why, len, "export '%s' is served over TLS only", rq->name);
		return REFUSE;
	}
	if (w->lease) {
		snprintf(why, len, "this connection already holds export '%s'", w->lease);
		return REFUSE;
	}
	if (at_limit(m, exp)) {
		snprintf(why, len, "export '%s' allows %u connection%s and has them all",
			 exp->name, exp->max_connections,
			 exp->max_connections == 1 ? "" : "s");
		return FULL;
	}
	return GRANT;
}

/* The index of the backend among those a worker was handed. */
static uint32_t backend_index(const struct cnbd_backend *be)
{
	for (size_t i = 0; i < backend_loaded_count(); i++) {
		const char *name;
		int fd;

		if (backend_loaded_at(i, &name, &fd) == be)
			return (uint32_t)i;
	}
	return UINT32_MAX;
}

/* A stack goes over as the list of its levels: the worker holds the
 * same .so files and rebuilds it from them. */
static void describe_levels(const struct stack *st, struct mon_export *out)
{
	_Static_assert(MON_LEVELS_MAX == STACK_MAX_LEVELS, "one stack, one message");
	out->nlevels = st->n;
	for (size_t i = 0; i < st->n; i++)
		out->level_index[i] = backend_index(st->lv[i].ops);
}

/* Fills r with the export and pack with its backend's state for w. */
static int hand_over(struct master *m, struct worker *w, const struct cnbd_export *exp,
		     struct mon_reply *r, struct cnbd_pack *pack)
{
	const struct cnbd_backend *be = exp->backend;
	const struct stack *st = stack_of(be, exp->handle);

	master_describe(m, w, exp, &r->exp);
	r->exp.backend_index = backend_index(be);
	if (st)
		describe_levels(st, &r->exp);
	if (!be->export_pack || (!st && !be->open_export))
		return 0;
	errno = 0;
	log_clear_last_error();
	if (be->export_pack(exp->handle, exp->readonly, pack) < 0) {
		log_error("export '%s': backend %s cannot hand the export to worker %d: %s",
			  exp->name, be->name, (int)w->pid,
			  log_last_error()[0] ? log_last_error() : strerror(errno));
		return -1;
	}
	memcpy(r->data, pack->bytes, pack->len);
	r->len = pack->len;
	r->nfds = pack->nfds;
	return 0;
}

static void answer(struct master *m, struct worker *w, const char *name,
		   bool granted, const char *why)
{
	char esc[LOG_ESCAPE_SIZE];
	struct mon_reply *r = master_reply(MON_LEASE);
	static struct cnbd_pack pack;	/* large: not on the stack */
	const struct export_entry *e = export_list_get(&m->exports, name);

	pack_init(&pack);
	if (granted && (!e || hand_over(m, w, &e->def.exp, r, &pack) < 0)) {
		granted = false;
		why = "the export cannot be opened";
	}
	if (granted && !(w->lease = strdup(name))) {
		why = "out of memory";
		granted = false;
	}
	if (granted) {
		master_stats_leased(m, w);
		/* The name, and so the reason, comes from the worker. */
		log_debug("worker %d: lease on '%s' (%u held)", (int)w->pid,
			  log_escape(name, esc, sizeof(esc)), worker_list_leases(&m->workers, name));
	} else {
		log_rated(&m->worker_log, LOG_INFO, "worker %d: no lease: %s", (int)w->pid,
			  log_escape(why, esc, sizeof(esc)));
		memset(&r->exp, 0, sizeof(r->exp));
		r->len = r->nfds = 0;
		r->status = EPERM;
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
	master_monitor_answer(m, w, r, pack.fds, granted ? pack.nfds : 0);
	pack_clear(&pack);
}

static void wait_for_room(struct master *m, struct worker *w, const struct lease_wait *rq)
{
	struct lease_wait *v = realloc(m->waiting, (m->nwaiting + 1) * sizeof(*v));

	if (!v)
		return;	/* the worker's own timeout refuses it */
	m->waiting = v;
	v[m->nwaiting] = *rq;
	v[m->nwaiting++].deadline = master_now_ms() + LEASE_WAIT_MS;
	w->waiting = true;
}

/* One request, new or waiting: true once it is answered. */
static bool consider(struct master *m, pid_t pid, const struct lease_wait *rq,
		     bool may_wait)
{
	struct worker *w = worker_list_get(&m->workers, pid);
	char why[MON_WHY_MAX + 1] = "";
	enum verdict v;

	if (!w || w->fd < 0)
		return true;	/* it ended: nobody to answer */
	v = decide(m, w, rq, why, sizeof(why));
	if (v == FULL && may_wait)
		return false;
	w->waiting = false;
	answer(m, w, rq->name, v == GRANT, why);
	return true;
}

void master_lease_retry(struct master *m)
{
	int64_t now = master_now_ms();

	for (size_t i = 0; i < m->nwaiting;) {
		struct lease_wait *lw = &m->waiting[i];

		if (consider(m, lw->pid, lw, now < lw->deadline))
			*lw = m->waiting[--m->nwaiting];
		else
			i++;
	}
}

int master_lease_timeout(const struct master *m, int64_t now)
{
	int64_t first = -1;

	for (size_t i = 0; i < m->nwaiting; i++)
		if (first < 0 || m->waiting[i].deadline < first)
			first = m->waiting[i].deadline;
	if (first < 0)
		return -1;
	return first > now ? (int)(first - now) : 0;
}

void master_lease_request(struct master *m, struct worker *w,
			  const struct mon_request *rq)
{
	struct lease_wait lw = { .pid = w->pid, .generation = rq->generation };

	if (w->waiting)
		return;		/* counted once, however often it asks */
	memcpy(lw.name, rq->name, sizeof(lw.name));
	lw.name[MON_NAME_MAX] = '\0';
	if (!consider(m, w->pid, &lw, true))
		wait_for_room(m, w, &lw);
}
