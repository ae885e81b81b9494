/* SPDX-License-Identifier: MIT */
/*
 * The control socket's requests: list, add, remove, reload, stats, and the
 * commands a backend takes on an export (commit, reset). Words are
 * separated by spaces; a name or value that holds a space, '%', '=' or a
 * control byte is percent-escaped (%20), the way nbd-clientd's control
 * socket does it, with the same code.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnbd/protocol.h"
#include "common/control_text.h"
#include "export_open.h"
#include "common/log.h"
#include "master.h"

#define MAX_WORDS	64
#define WORD_MAX	4096

struct control_words {
	char *words[MAX_WORDS];
	size_t n;
};

static int split(char *line, struct control_words *rq)
{
	char *save = NULL;

	rq->n = 0;
	for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (rq->n == MAX_WORDS)
			return -1;
		rq->words[rq->n++] = w;
	}
	return 0;
}

/* One value as a word of a reply line. */
static const char *esc(const char *in, char *out, size_t len)
{
	if (control_escape(in ? in : "", out, len) < 0)
		snprintf(out, len, "%%3F");	/* too long to show: "?" */
	return out;
}

static void list_one(struct master *m, const struct export_entry *e,
		     struct control_reply *r)
{
	const struct export_config *d = &e->def;
	/* A description may have NBD_MAX_STRING bytes, each escaped as 3. */
	char name[256], backend[256], desc[3 * NBD_MAX_STRING + 1];
	char source[WORD_MAX], where[WORD_MAX];

	if (d->line)
		snprintf(where, sizeof(where), "%s:%d", d->source, d->line);
	else
		snprintf(where, sizeof(where), "runtime");
	control_reply_line(r, "name=%s backend=%s connections=%u max-connections=%u source=%s description=%s",
			   esc(d->exp.name, name, sizeof(name)),
			   esc(d->backend_name, backend, sizeof(backend)),
			   worker_list_leases(&m->workers, d->exp.name),
			   d->exp.max_connections, esc(where, source, sizeof(source)),
			   esc(d->exp.description, desc, sizeof(desc)));
}

static void verb_list(struct master *m, struct control_words *rq, struct control_reply *r)
{
	if (rq->n != 1) {
		control_reply_line(r, "error: usage: list");
		return;
	}
	for (size_t i = 0; i < m->exports.n; i++)
		list_one(m, m->exports.v[i], r);
	control_reply_line(r, "ok");
}

/* "KEY=VALUE" words, unescaped in place: '=' is always escaped inside
 * either, so the first one separates them. */
static int take_pairs(struct control_words *rq, struct cnbd_param *pairs, char *err, size_t len)
{
	for (size_t i = 2; i < rq->n; i++) {
		char *w = rq->words[i], *eq = strchr(w, '=');

		if (!eq) {
			snprintf(err, len, "'%s' is not KEY=VALUE", w);
			return -1;
		}
		*eq = '\0';
		if (control_unescape(w, w, strlen(w) + 1) < 0 ||
		    control_unescape(eq + 1, eq + 1, strlen(eq + 1) + 1) < 0) {
			snprintf(err, len, "bad %%-escape in '%s'", w);
			return -1;
		}
		pairs[i - 2] = (struct cnbd_param){ .key = w, .value = eq + 1 };
	}
	return 0;
}

static int add_export(struct master *m, const char *name, struct cnbd_param *pairs,
		      size_t n, char *err, size_t len)
{
	struct export_config ec;

	if (export_list_get(&m->exports, name)) {
		snprintf(err, len, "export '%s' exists (remove it first)", name);
		return -1;
	}
	if (config_export_runtime(name, pairs, n, &ec, err, len) < 0)
		return -1;
	if (config_check_export_tls(&m->cfg, &ec, 0, err, len) < 0) {
		config_export_free(&ec);
		return -1;
	}
	if (export_open(&ec, m->cfg.backend_dir, m->root, err, len) < 0) {
		config_export_free(&ec);
		return -1;
	}
	log_info("control: export '%s' added (backend %s; until removed or the server stops)",
		 name, ec.backend_name);
	if (export_list_add(&m->exports, &ec, true) == 0)
		return 0;
	export_close(&ec);
	config_export_free(&ec);
	snprintf(err, len, "out of memory");
	return -1;
}

static void verb_add(struct master *m, struct control_words *rq, struct control_reply *r)
{
	struct cnbd_param pairs[MAX_WORDS];
	char err[1024];
	char *name;

	if (rq->n < 2) {
		control_reply_line(r, "error: usage: add NAME KEY=VALUE...");
		return;
	}
	name = rq->words[1];
	if (control_unescape(name, name, strlen(name) + 1) < 0) {
		control_reply_line(r, "error: bad %%-escape in the export name");
		return;
	}
	if (take_pairs(rq, pairs, err, sizeof(err)) < 0 ||
	    add_export(m, name, pairs, rq->n - 2, err, sizeof(err)) < 0) {
		control_reply_line(r, "error: %s", err);
		return;
	}
	control_reply_line(r, "ok");
}

static void verb_remove(struct master *m, struct control_words *rq, struct control_reply *r)
{
	bool force = rq->n == 3 && !strcmp(rq->words[2], "--force");
	struct export_entry *e;
	char *name;
	size_t ended = 0;

	if (rq->n < 2 || (rq->n == 3 && !force) || rq->n > 3) {
		control_reply_line(r, "error: usage: remove NAME [--force]");
		return;
	}
	name = rq->words[1];
	if (control_unescape(name, name, strlen(name) + 1) < 0 ||
	    !(e = export_list_take(&m->exports, name))) {
		control_reply_line(r, "error: no export named '%s'", rq->words[1]);
		return;
	}
	if (force) {
		ended = master_signal_workers(m, name, SIGTERM);
		log_info("control: export '%s' removed; --force: SIGTERM to %zu worker%s",
			 name, ended, ended == 1 ? "" : "s");
	} else {
		log_info("control: export '%s' removed; its %u connection%s go on until they end",
			 name, worker_list_leases(&m->workers, name),
			 worker_list_leases(&m->workers, name) == 1 ? "" : "s");
	}
	export_close(&e->def);
	export_entry_free(e);
	if (force)
		control_reply_line(r, "ended=%zu", ended);
	else
		control_reply_line(r, "connections=%u", worker_list_leases(&m->workers, name));
	control_reply_line(r, "ok");
}

static void verb_reload(struct master *m, struct control_words *rq, struct control_reply *r)
{
	char summary[1024], err[1024], word[3 * 1024];

	if (rq->n != 1) {
		control_reply_line(r, "error: usage: reload");
		return;
	}
	if (master_reload(m, summary, sizeof(summary), err, sizeof(err)) < 0) {
		log_error("control: reload failed, nothing changed: %s", err);
		control_reply_line(r, "error: %s", err);
		return;
	}
	log_info("control: reloaded: %s", summary);
	control_reply_line(r, "summary=%s", esc(summary, word, sizeof(word)));
	control_reply_line(r, "ok");
}

static void verb_stats(struct master *m, struct control_words *rq, struct control_reply *r)
{
	master_control_stats(m, rq->words, rq->n, r);
}

/* "commit NAME", "reset NAME": the export's backend (a stack: its first
 * level that takes it) does the work, in the master. Only while no
 * connection holds the export: what the command rewrites, a worker would
 * be reading and writing. The master answers nothing else meanwhile, so
 * no lease can be granted before it is done. */
static void verb_export_command(struct master *m, struct control_words *rq,
				struct control_reply *r)
{
	const char *verb = rq->words[0];
	const struct export_entry *e;
	const struct cnbd_export *exp;
	char msg[1024] = "", word[3 * 1024], *name;
	unsigned held;

	if (rq->n != 2) {
		control_reply_line(r, "error: usage: %s NAME", verb);
		return;
	}
	name = rq->words[1];
	if (control_unescape(name, name, strlen(name) + 1) < 0 ||
	    !(e = export_list_get(&m->exports, name))) {
		control_reply_line(r, "error: no export named '%s'", rq->words[1]);
		return;
	}
	exp = &e->def.exp;
	held = worker_list_leases(&m->workers, name);
	if (held) {
		control_reply_line(r, "error: export '%s' has %u connection%s; %s needs none (disconnect the clients, or remove the export with --force first)",
				   name, held, held == 1 ? "" : "s", verb);
		return;
	}
	if (!exp->backend || !exp->backend->export_command) {
		control_reply_line(r, "error: export '%s': backend %s has no commands",
				   name, exp->backend ? exp->backend->name : "?");
		return;
	}
	if (exp->backend->export_command(exp->handle, verb, msg, sizeof(msg)) < 0) {
		log_error("control: %s of export '%s' failed: %s", verb, name, msg);
		control_reply_line(r, "error: export '%s': %s", name, msg[0] ? msg : "failed");
		return;
	}
	log_info("control: %s of export '%s': %s", verb, name, msg);
	control_reply_line(r, "result=%s", esc(msg, word, sizeof(word)));
	control_reply_line(r, "ok");
}

void master_control_request(void *master, char *line, struct control_reply *r)
{
	static const struct {
		const char *name;
		void (*fn)(struct master *m, struct control_words *rq, struct control_reply *r);
	} verbs[] = {
		{ "list", verb_list },
		{ "add", verb_add },
		{ "remove", verb_remove },
		{ "reload", verb_reload },
		{ "stats", verb_stats },
		{ "commit", verb_export_command },
		{ "reset", verb_export_command },
	};
	struct control_words rq;

	if (split(line, &rq) < 0) {
		control_reply_line(r, "error: more than %d words", MAX_WORDS);
		return;
	}
	if (!rq.n) {
		control_reply_line(r, "error: empty request (known: list, add, remove, reload, stats, commit, reset)");
		return;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!strcmp(rq.words[0], verbs[i].name)) {
			verbs[i].fn(master, &rq, r);
			return;
		}
	}
	control_reply_line(r, "error: unknown request '%.64s' (known: list, add, remove, reload, stats, commit, reset)",
			   rq.words[0]);
}
