/* SPDX-License-Identifier: MIT */
/*
 * Granting leases. Leases are counted by export name, whatever the
 * definition a worker serves: a reload that changes an export (or a
 * remove and an add) does not reset its count, so a single-use export
 * stays single-use across it. A worker asks with the generation of the
 * definition it got at fork; one the master no longer offers (the
 * export was removed or changed since) is refused, so a client never
 * starts on a definition that is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "master.h"

static bool at_limit(const struct master *m, const struct cnbd_export *e)
{
	return e->max_connections &&
	       worker_list_leases(&m->workers, e->name) >= e->max_connections;
}

static bool decide(struct master *m, const struct worker *w,
		   const struct lease_request *rq, char *why, size_t len)
{
	const struct export_entry *e = export_list_get(&m->exports, rq->name);
	const struct cnbd_export *exp = e ? &e->def.exp : NULL;

	if (!exp) {
		snprintf(why, len, "export '%s' was removed", rq->name);
		return false;
	}
	if (exp->generation != rq->generation) {
		snprintf(why, len, "export '%s' was redefined since this connection began; connect again",
			 rq->name);
		return false;
	}
	if (w->lease) {
		snprintf(why, len, "this connection already holds export '%s'", w->lease);
		return false;
	}
	/* A worker that just ended may not be reaped yet: its SIGCHLD can
	 * be queued behind this request. Reap before refusing. */
	if (at_limit(m, exp))
		master_reap(m);
	if (at_limit(m, exp)) {
		snprintf(why, len, "export '%s' allows %u connection%s and has them all",
			 exp->name, exp->max_connections,
			 exp->max_connections == 1 ? "" : "s");
		return false;
	}
	return true;
}

static void answer(struct master *m, pid_t pid, const struct lease_request *rq)
{
	struct worker *w = worker_list_get(&m->workers, pid);
	char why[LEASE_WHY_MAX + 1] = "";
	bool granted;

	if (!w)
		return;
	granted = decide(m, w, rq, why, sizeof(why));
	/* decide() may have reaped: look the worker up again. */
	w = worker_list_get(&m->workers, pid);
	if (!w)
		return;
	if (granted && !(w->lease = strdup(rq->name))) {
		snprintf(why, sizeof(why), "out of memory");
		granted = false;
	}
	if (granted)
		log_debug("worker %d: lease on '%s' (%u held)", (int)pid, rq->name,
			  worker_list_leases(&m->workers, rq->name));
	else
		log_info("worker %d: no lease: %s", (int)pid, why);
	if (lease_answer(w->fd, granted, why) < 0)
		log_warn("worker %d: lease answer not delivered", (int)pid);
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
		answer(m, pid, &rq);
		return;
	}
	if (rc == 0)
		return;
	/* Closed (the worker is ending) or garbage: no more requests. The
	 * lease, if any, lasts until the worker is reaped. */
	close(w->fd);
	w->fd = -1;
}
