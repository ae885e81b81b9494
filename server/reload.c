/* SPDX-License-Identifier: MIT */
/*
 * Reloading: re-read the main file and exports-dir, and switch to what
 * they say, all or nothing.
 *
 * First everything that can fail: parse, then open each export that is
 * new or whose storage changed (an export whose backend, backend-dir and
 * parameters are the same keeps the handle it has, so a memory export
 * keeps its data), then allocate. Only then the switch, which cannot
 * fail; and after it the master closes the handles nothing uses any
 * more. Workers are untouched: each serves from its own copy of the old
 * table, with its own copies of the descriptors and mappings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_open.h"
#include "common/log.h"
#include "master.h"
#include "common/service_notify.h"
#include "tls_kernel.h"
#include "tls_load.h"

enum change { ADDED, CHANGED, UNCHANGED };

struct plan {
	struct server_config cfg;	/* the new files */
	enum change *change;		/* per cfg.exports */
	bool *opened;			/* handle opened by this reload */
	struct export_entry **fresh;	/* entries for ADDED and CHANGED */
	struct export_list next;
	struct cnbd_tls *tls;		/* the credentials the files name */
	unsigned added, changed, removed, unchanged;
};

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static const char *param_value(const struct export_config *ec, const char *key)
{
	for (size_t i = 0; i < ec->nparams; i++)
		if (!strcmp(ec->params[i].key, key))
			return ec->params[i].value;
	return NULL;
}

/* The same storage: a new open would give the same thing. */
static bool same_storage(const struct export_config *a, const char *adir,
			 const struct export_config *b, const char *bdir)
{
	if (strcmp(a->backend_name, b->backend_name) || strcmp(adir, bdir) ||
	    a->nparams != b->nparams)
		return false;
	for (size_t i = 0; i < a->nparams; i++)
		if (!same_string(a->params[i].value, param_value(b, a->params[i].key)))
			return false;
	return true;
}

static bool same_settings(const struct cnbd_export *a, const struct cnbd_export *b)
{
	return same_string(a->description, b->description) && a->readonly == b->readonly &&
	       a->min_block == b->min_block && a->pref_block == b->pref_block &&
	       a->max_block == b->max_block && a->max_connections == b->max_connections &&
	       a->tls_required == b->tls_required;
}

static void undo_opens(struct plan *p)
{
	for (size_t i = 0; i < p->cfg.nexports; i++) {
		struct export_config *ec = p->fresh[i] ? &p->fresh[i]->def : &p->cfg.exports[i];

		if (p->opened[i])
			export_close(ec);
		export_entry_free(p->fresh[i]);
		p->fresh[i] = NULL;
	}
}

/* Decides what each export of the files is to the running table, and
 * opens what needs opening. */
static int open_changes(struct master *m, struct plan *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->cfg.nexports; i++) {
		struct export_config *ec = &p->cfg.exports[i];
		struct export_entry *old = export_list_get(&m->exports, ec->exp.name);
		bool keep = old && same_storage(&old->def, m->cfg.backend_dir, ec,
						p->cfg.backend_dir);

		p->change[i] = !old ? ADDED : keep && same_settings(&old->def.exp, &ec->exp) &&
			       acl_equal(&old->def.acl, &ec->acl) && !old->runtime ?
			       UNCHANGED : CHANGED;
		if (keep) {
			ec->exp.backend = old->def.exp.backend;
			ec->exp.handle = old->def.exp.handle;
			continue;
		}
		if (export_open(ec, p->cfg.backend_dir, m->root, err, errlen) < 0)
			return -1;
		p->opened[i] = true;
	}
	return 0;
}

static int allocate(struct master *m, struct plan *p)
{
	if (export_list_reserve(&p->next, p->cfg.nexports + m->exports.n) < 0 ||
	    export_list_set_default(&p->next, p->cfg.default_export) < 0)
		return -1;
	for (size_t i = 0; i < p->cfg.nexports; i++) {
		if (p->change[i] == UNCHANGED)
			continue;
		p->fresh[i] = export_entry_new(&p->cfg.exports[i], false);
		if (!p->fresh[i])
			return -1;
	}
	return 0;
}

static bool handle_in_use(const struct export_list *t, const void *handle)
{
	for (size_t i = 0; handle && i < t->n; i++)
		if (t->v[i]->def.exp.handle == handle)
			return true;
	return false;
}

static void log_change(const struct export_config *ec, const char *what)
{
	char where[512];

	config_where(ec, where, sizeof(where));
	log_info("reload: %sexport '%s' %s", where, ec->exp.name, what);
}

/* Moves an unchanged entry over; it keeps its generation and handle but
 * takes the place in the files the new text gives it. */
static void keep_entry(struct master *m, struct plan *p, struct export_config *ec)
{
	struct export_entry *e = export_list_take(&m->exports, ec->exp.name);
	char *source = e->def.source;

	e->def.source = ec->source;
	e->def.line = ec->line;
	ec->source = source;
	export_list_append(&p->next, e);
	p->unchanged++;
}

/* What is left in the old table once the files are through: run-time
 * exports the files do not name go on; the rest were removed. */
static void carry_runtime(struct master *m, struct plan *p)
{
	for (size_t i = 0; i < m->exports.n;) {
		struct export_entry *e = m->exports.v[i];

		if (!e->runtime || export_list_get(&p->next, e->def.exp.name)) {
			i++;
			continue;
		}
		export_list_append(&p->next, export_list_take(&m->exports, e->def.exp.name));
	}
}

static void close_leftovers(struct master *m, struct plan *p)
{
	for (size_t i = 0; i < m->exports.n; i++) {
		struct export_entry *e = m->exports.v[i];

		if (!export_list_get(&p->next, e->def.exp.name)) {
			log_change(&e->def, "removed: no new connections");
			p->removed++;
		}
		if (!handle_in_use(&p->next, e->def.exp.handle))
			export_close(&e->def);
	}
	export_list_free(&m->exports);
	m->exports = p->next;
	export_list_init(&p->next);
}

static void switch_tables(struct master *m, struct plan *p)
{
	for (size_t i = 0; i < p->cfg.nexports; i++) {
		if (p->change[i] == UNCHANGED) {
			keep_entry(m, p, &p->cfg.exports[i]);
			continue;
		}
		log_change(&p->fresh[i]->def, p->change[i] == ADDED ? "added" :
			   p->opened[i] ? "changed: new connections get the new definition" :
			   "changed: new connections get the new settings, same storage");
		if (p->change[i] == ADDED)
			p->added++;
		else
			p->changed++;
		export_list_append(&p->next, p->fresh[i]);
		p->fresh[i] = NULL;
	}
	carry_runtime(m, p);
	close_leftovers(m, p);
}

static void note_restart(bool changed, const char *key, const char *file,
			 char *restart, size_t len)
{
	size_t used = strlen(restart);

	if (!changed)
		return;
	log_warn("reload: [server] %s changed in %s: it applies at the next restart",
		 key, file);
	snprintf(restart + used, len - used, "%s%s", used ? ", " : "", key);
}

#define SWAP(a, b) do { __typeof__(a) t_ = (a); (a) = (b); (b) = t_; } while (0)

/* [server] settings that only apply at start keep the values in force
 * (and the log says so); the others take the new ones. What m->cfg ends
 * up holding is what the next reload compares with. */
static void apply_settings(struct master *m, struct plan *p, char *restart, size_t len)
{
	struct server_config *o = &m->cfg, *n = &p->cfg;
	bool listen = o->nlisten != n->nlisten;

	for (size_t i = 0; !listen && i < o->nlisten; i++)
		listen = strcmp(o->listen[i], n->listen[i]) != 0;
	/* Activated sockets stand for the listen lines (activation.h). */
	listen = listen && !m->activated;
	restart[0] = '\0';
	note_restart(listen, "listen", n->source, restart, len);
	note_restart(!same_string(o->user, n->user), "user", n->source, restart, len);
	note_restart(o->unix_mode != n->unix_mode, "unix-mode", n->source, restart, len);
	note_restart(!same_string(o->control, n->control), "control", n->source,
		     restart, len);
	note_restart(!same_string(o->pidfile, n->pidfile), "pidfile", n->source,
		     restart, len);
	SWAP(o->backend_dir, n->backend_dir);
	SWAP(o->default_export, n->default_export);
	SWAP(o->handshake_timeout, n->handshake_timeout);
	SWAP(o->max_workers, n->max_workers);
	SWAP(o->exports_dir, n->exports_dir);
	/* New connections are judged by the new lists; connected ones were
	 * admitted when they came. */
	SWAP(o->acl, n->acl);
	/* New workers count or not; the file is written where it says. */
	SWAP(o->statistics, n->statistics);
	SWAP(o->statistics_file, n->statistics_file);
	SWAP(o->statistics_interval, n->statistics_interval);
	/* TLS applies at once too: new workers get the new credentials. */
	SWAP(o->tls, n->tls);
	SWAP(m->tls, p->tls);
}

static void log_tls(const struct master *m, bool had_tls)
{
	char what[1024];

	if (!had_tls && m->cfg.tls.mode == CNBD_TLS_OFF)
		return;
	tls_describe(&m->cfg.tls, what, sizeof(what));
	log_info("reload: %s%s", what,
		 m->cfg.tls.mode != CNBD_TLS_OFF ? " (credentials read again)" : "");
	tls_kernel_wanted(&m->cfg.tls);
}

static void summarize(const struct plan *p, const struct master *m,
		      const char *restart, char *summary, size_t slen)
{
	int n = snprintf(summary, slen, "%zu export%s: %u added, %u changed, %u removed, %u unchanged",
			 m->exports.n, m->exports.n == 1 ? "" : "s", p->added,
			 p->changed, p->removed, p->unchanged);

	if (restart[0] && n >= 0 && (size_t)n < slen)
		snprintf(summary + n, slen - n, "; restart to apply: %s", restart);
}

static bool find_in_files(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->cfg.nexports; i++)
		if (!strcmp(p->cfg.exports[i].exp.name, name))
			return true;
	return false;
}

/* Run-time exports the files do not name are carried over: one that
 * requires TLS cannot be kept by a configuration that turns TLS off. */
static int runtime_tls_check(struct master *m, struct plan *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < m->exports.n; i++) {
		const struct export_entry *e = m->exports.v[i];

		if (!e->runtime || !e->def.exp.tls_required ||
		    p->cfg.tls.mode != CNBD_TLS_OFF)
			continue;
		if (find_in_files(p, e->def.exp.name))
			continue;
		snprintf(err, errlen,
			 "%s: tls = off, but export '%s' (added at run time) requires TLS: remove it first",
			 p->cfg.source, e->def.exp.name);
		return -1;
	}
	return 0;
}

static int prepare(struct master *m, struct plan *p, char *err, size_t errlen)
{
	if (!m->config_path) {
		snprintf(err, errlen, "running on the built-in configuration: no file to reload");
		return -1;
	}
	if (config_parse_file(m->config_path, &p->cfg, err, errlen) < 0)
		return -1;
	if (m->backend_dir) {
		free(p->cfg.backend_dir);
		p->cfg.backend_dir = strdup(m->backend_dir);
	}
	p->change = calloc(p->cfg.nexports + 1, sizeof(*p->change));
	p->opened = calloc(p->cfg.nexports + 1, sizeof(*p->opened));
	p->fresh = calloc(p->cfg.nexports + 1, sizeof(*p->fresh));
	if (!p->cfg.backend_dir || !p->change || !p->opened || !p->fresh) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Re-read even when the names are the same: a renewed certificate
	 * is picked up by a reload. */
	if (tls_load(&p->cfg, &p->tls, err, errlen) < 0 ||
	    runtime_tls_check(m, p, err, errlen) < 0)
		return -1;
	if (open_changes(m, p, err, errlen) < 0)
		return -1;
	if (allocate(m, p) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int master_reload(struct master *m, char *summary, size_t slen,
		  char *err, size_t errlen)
{
	struct plan p = { 0 };
	char restart[256];
	int rc;

	/* systemctl shows "reloading" until READY=1, whatever the outcome:
	 * a failed reload leaves the server serving as it was. */
	service_notify_reloading();
	rc = prepare(m, &p, err, errlen);
	if (rc == 0) {
		bool had_tls = m->cfg.tls.mode != CNBD_TLS_OFF;

		switch_tables(m, &p);
		apply_settings(m, &p, restart, sizeof(restart));
		log_tls(m, had_tls);
		summarize(&p, m, restart, summary, slen);
	} else if (p.opened) {
		undo_opens(&p);
	}
	export_list_free(&p.next);
	cnbd_tls_free(p.tls);	/* the old credentials after a switch */
	config_free(&p.cfg);
	free(p.change);
	free(p.opened);
	free(p.fresh);
	service_notify_ready();
	return rc;
}
