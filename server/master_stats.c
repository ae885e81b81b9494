/* SPDX-License-Identifier: MIT */
/*
 * The master's side of statistics (stats.h): a page per worker, made at
 * accept; its counts folded into the export the master leased it, when
 * asked for (nbdctl server stats, the Prometheus file) and when the
 * worker is reaped. The master reads a page only as a copy, believes the
 * copy only if stats_check does, and adds only the difference from the
 * last copy it believed, to the one export it granted that worker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "master.h"

struct worker_stats *worker_stats_new(int *fd)
{
	struct worker_stats *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return NULL;
	if (stats_page_new(fd, &ws->map) < 0) {
		free(ws);
		return NULL;
	}
	return ws;
}

void worker_stats_free(struct worker_stats *ws)
{
	if (!ws)
		return;
	stats_page_unmap(ws->map);
	free(ws);
}

struct stats_entry *stats_table_get(struct stats_table *t, const char *name)
{
	struct stats_entry *v;

	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	v = realloc(t->v, (t->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	t->v = v;
	memset(&v[t->n], 0, sizeof(v[t->n]));
	if (!(v[t->n].name = strdup(name)))
		return NULL;
	return &v[t->n++];
}

void stats_table_free(struct stats_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static void distrust(struct master *m, struct worker *w, const char *why)
{
	w->stats->bad = true;
	log_rated(&m->worker_log, LOG_WARNING,
		  "worker %d: its statistics cannot be believed (%s): counted no more",
		  (int)w->pid, why);
}

/* At the lease: what the page says now is where the worker's counting
 * starts (it served nothing before; whatever it wrote there is not the
 * export's). */
void master_stats_leased(struct master *m, struct worker *w)
{
	struct worker_stats *ws = w->stats;
	struct stats_entry *e = stats_table_get(&m->stats, w->lease);
	char why[256];

	if (e)
		e->connections++;
	if (!ws || ws->bad)
		return;
	if (stats_page_read(ws->map, &ws->base) < 0) {
		distrust(m, w, "its page is never still");
		return;
	}
	memset(&ws->last, 0, sizeof(ws->last));
	if (!stats_check(&ws->last, &ws->last, &ws->base, 0, why, sizeof(why))) {
		distrust(m, w, why);
		return;
	}
	ws->last = ws->base;
	ws->since = master_now_ms();
	ws->counting = true;
}

void master_stats_fold(struct master *m, struct worker *w)
{
	struct worker_stats *ws = w->stats;
	struct stats_counters now;
	struct stats_entry *e;
	char why[256];

	if (!ws || !ws->counting || ws->bad || !w->lease)
		return;
	if (stats_page_read(ws->map, &now) < 0)
		return;		/* being written: the next fold has it */
	if (!stats_check(&ws->base, &ws->last, &now, (uint64_t)(master_now_ms() - ws->since),
			 why, sizeof(why))) {
		distrust(m, w, why);
		return;
	}
	e = stats_table_get(&m->stats, w->lease);
	if (!e)
		return;		/* out of memory: counted at the next fold */
	stats_add_delta(&e->c, &ws->last, &now);
	ws->last = now;
}

/* Entries of exports that are gone and that no worker serves any more. */
static void prune(struct master *m)
{
	for (size_t i = 0; i < m->stats.n;) {
		struct stats_entry *e = &m->stats.v[i];

		if (export_list_get(&m->exports, e->name) ||
		    worker_list_leases(&m->workers, e->name)) {
			i++;
			continue;
		}
		free(e->name);
		*e = m->stats.v[--m->stats.n];
	}
}

void master_stats_fold_all(struct master *m)
{
	for (size_t i = 0; i < m->workers.n; i++)
		master_stats_fold(m, &m->workers.v[i]);
	prune(m);
	for (size_t i = 0; i < m->exports.n; i++)
		stats_table_get(&m->stats, m->exports.v[i]->def.exp.name);
}

bool master_stats_connection(const struct worker *w, struct stats_counters *out)
{
	if (!w->lease || !w->stats || !w->stats->counting)
		return false;
	stats_diff(out, &w->stats->last, &w->stats->base);
	return true;
}
