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
 * refused at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "master.h"

#define LEASE_WAIT_MS	250

enum verdict { GRANT, REFUSE, FULL };

struct lease_wait {
	pid_t pid;
	struct lease_request rq;
	int64_t deadline;
};

static bool at_limit(const struct master *m, const struct cnbd_export *e)
{
	return e->max_connections &&
	       worker_list_leases(&m->workers, e->name) >= e->max_connections;
}

static enum verdict decide(struct master *m, const struct worker *w,
			   const struct lease_request *rq, char *why, size_t len)
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

static void answer(struct master *m, struct worker *w, const char *name,
		   bool granted, const char *why)
{
	char esc[LOG_ESCAPE_SIZE];

	if (granted && !(w->lease = strdup(name))) {
		why = "out of memory";
		granted = false;
	}
	/* The name, and so the reason, comes from the worker. */
	if (granted)
		log_debug("worker %d: lease on '%s' (%u held)", (int)w->pid,
			  log_escape(name, esc, sizeof(esc)), worker_list_leases(&m->workers, name));
	else
		log_info("worker %d: no lease: %s", (int)w->pid, log_escape(why, esc, sizeof(esc)));
	if (lease_answer(w->fd, granted, why) < 0)
		log_warn("worker %d: lease answer not delivered", (int)w->pid);
}

static void wait_for_room(struct master *m, pid_t pid, const struct lease_request *rq)
{
	struct lease_wait *v = realloc(m->waiting, (m->nwaiting + 1) * sizeof(*v));

	if (!v)
		return;	/* the worker's own timeout refuses it */
	m->waiting = v;
	v[m->nwaiting++] = (struct lease_wait){ .pid = pid, .rq = *rq,
		.deadline = master_now_ms() + LEASE_WAIT_MS };
}

/* One request, new or waiting: true once it is answered. */
static bool consider(struct master *m, pid_t pid, const struct lease_request *rq,
		     bool may_wait)
{
	struct worker *w = worker_list_get(&m->workers, pid);
	char why[LEASE_WHY_MAX + 1] = "";
	enum verdict v;

	if (!w || w->fd < 0)
		return true;	/* it ended: nobody to answer */
	v = decide(m, w, rq, why, sizeof(why));
	if (v == FULL && may_wait)
		return false;
	answer(m, w, rq->name, v == GRANT, why);
	return true;
}

void master_lease_retry(struct master *m)
{
	int64_t now = master_now_ms();

	for (size_t i = 0; i < m->nwaiting;) {
		struct lease_wait *lw = &m->waiting[i];

		if (consider(m, lw->pid, &lw->rq, now < lw->deadline))
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

void master_lease_request(struct master *m, pid_t pid)
{
	struct worker *w = worker_list_get(&m->workers, pid);
	struct lease_request rq;
	int rc;

	if (!w || w->fd < 0)
		return;
	rc = lease_receive(w->fd, &rq);
	if (rc > 0) {
		if (!consider(m, pid, &rq, true))
			wait_for_room(m, pid, &rq);
		return;
	}
	if (rc == 0)
		return;
	/* Closed (the worker is ending) or garbage: no more requests. The
	 * lease, if any, lasts until the worker is reaped. */
	close(w->fd);
	w->fd = -1;
}
