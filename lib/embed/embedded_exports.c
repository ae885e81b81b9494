/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnbd/protocol.h"
#include "embed/embedded_exports.h"
#include "backend/backend_load.h"
#include "common/log.h"

void export_table_init(struct export_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	t->head = NULL;
}

static void entry_free(struct embedded_export *e)
{
	free(e->exp.name);
	free(e->exp.description);
	free((void *)e->exp.backend);
	free(e);
}

void export_table_destroy(struct export_table *t)
{
	while (t->head) {
		struct embedded_export *e = t->head;
		t->head = e->next;
		entry_free(e);
	}
	pthread_mutex_destroy(&t->lock);
}

/* Unlinks entries that are removed and no connection still uses. */
static void reap_locked(struct export_table *t)
{
	for (struct embedded_export **p = &t->head; *p;) {
		struct embedded_export *e = *p;
		if (e->removed && !e->pins) {
			*p = e->next;
			entry_free(e);
		} else {
			p = &e->next;
		}
	}
}

static struct embedded_export *find_locked(struct export_table *t, const char *name)
{
	for (struct embedded_export *e = t->head; e; e = e->next)
		if (!e->removed && !strcmp(e->exp.name, name))
			return e;
	return NULL;
}

static int remove_locked(struct export_table *t, const char *name)
{
	struct embedded_export *e = find_locked(t, name);

	if (!e)
		return -1;
	e->removed = true;
	reap_locked(t);
	return 0;
}

int export_table_add(struct export_table *t, const char *name,
		     const struct cnbd_backend *ops, void *handle,
		     const struct cnbd_export_options *opts)
{
	static const struct cnbd_export_options defaults;
	struct embedded_export *e = calloc(1, sizeof(*e));
	char err[256];

	if (!opts)
		opts = &defaults;
	if (!e || !name)
		goto invalid;
	/* Both go out in replies, whose strings the protocol caps. */
	if (strlen(name) > NBD_MAX_STRING) {
		log_error("export name of %zu bytes: more than the protocol's %d",
			  strlen(name), NBD_MAX_STRING);
		goto invalid;
	}
	if (opts->description && strlen(opts->description) > NBD_MAX_STRING) {
		log_error("export '%s': description of %zu bytes, more than the protocol's %d",
			  name, strlen(opts->description), NBD_MAX_STRING);
		goto invalid;
	}
	e->exp.backend = backend_adopt(ops, err, sizeof(err));
	if (!e->exp.backend) {
		log_error("export '%s': %s", name, err);
		goto invalid;
	}
	e->exp.name = strdup(name);
	e->exp.description = opts->description ? strdup(opts->description) : NULL;
	e->exp.readonly = opts->readonly;
	e->exp.min_block = opts->min_block_size;
	e->exp.pref_block = opts->preferred_block_size;
	e->exp.max_block = opts->max_block_size;
	e->exp.max_connections = opts->max_connections;
	e->exp.handle = handle;

	pthread_mutex_lock(&t->lock);
	remove_locked(t, name);	/* replacing: old connections keep theirs */
	e->next = t->head;
	t->head = e;
	pthread_mutex_unlock(&t->lock);
	return 0;
invalid:
	if (e)
		entry_free(e);
	errno = EINVAL;
	return -1;
}

int export_table_remove(struct export_table *t, const char *name)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = remove_locked(t, name);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		errno = ENOENT;
	return rc;
}

void export_table_list(struct export_table *t,
		       void (*fn)(void *arg, const struct cnbd_export_status *st),
		       void *arg)
{
	pthread_mutex_lock(&t->lock);
	for (struct embedded_export *e = t->head; e; e = e->next) {
		struct cnbd_export_status st = {
			.name = e->exp.name,
			.description = e->exp.description,
			.connections = e->leases,
		};
		if (!e->removed)
			fn(arg, &st);
	}
	pthread_mutex_unlock(&t->lock);
}

static void pin_locked(struct export_pins *pins, struct embedded_export *e)
{
	struct embedded_export **list;

	for (size_t i = 0; i < pins->count; i++)
		if (pins->list[i] == e)
			return;
	list = realloc(pins->list, (pins->count + 1) * sizeof(*list));
	if (!list)
		return;	/* unpinned: it stays until the table is destroyed */
	pins->list = list;
	pins->list[pins->count++] = e;
	e->pins++;
}

/* "" is the export named "default", or else the only one. */
static struct embedded_export *lookup_locked(struct export_table *t, const char *name)
{
	struct embedded_export *only = NULL;
	unsigned live = 0;

	if (*name)
		return find_locked(t, name);
	if (find_locked(t, "default"))
		return find_locked(t, "default");
	for (struct embedded_export *e = t->head; e; e = e->next)
		if (!e->removed) {
			only = e;
			live++;
		}
	return live == 1 ? only : NULL;
}

static const struct cnbd_export *hook_find(void *ctx, const char *name)
{
	struct export_pins *pins = ctx;
	struct embedded_export *e;

	pthread_mutex_lock(&pins->table->lock);
	e = lookup_locked(pins->table, name);
	if (e)
		pin_locked(pins, e);
	pthread_mutex_unlock(&pins->table->lock);
	return e ? &e->exp : NULL;
}

static const struct cnbd_export *hook_export_at(void *ctx, size_t index)
{
	struct export_pins *pins = ctx;
	struct embedded_export *e;

	pthread_mutex_lock(&pins->table->lock);
	for (e = pins->table->head; e; e = e->next)
		if (!e->removed && index-- == 0)
			break;
	if (e)
		pin_locked(pins, e);
	pthread_mutex_unlock(&pins->table->lock);
	return e ? &e->exp : NULL;
}

static int hook_acquire(void *ctx, const struct cnbd_export *exp, char *why, size_t whylen)
{
	struct export_pins *pins = ctx;
	struct embedded_export *e = (struct embedded_export *)exp;
	int rc = 0;

	pthread_mutex_lock(&pins->table->lock);
	if (e->exp.max_connections && e->leases >= e->exp.max_connections) {
		snprintf(why, whylen, "export '%s' allows %u connection%s and has them all",
			 e->exp.name, e->exp.max_connections,
			 e->exp.max_connections == 1 ? "" : "s");
		rc = -1;
	} else {
		e->leases++;
	}
	pthread_mutex_unlock(&pins->table->lock);
	return rc;
}

static void hook_release(void *ctx, const struct cnbd_export *exp)
{
	struct export_pins *pins = ctx;
	struct embedded_export *e = (struct embedded_export *)exp;

	pthread_mutex_lock(&pins->table->lock);
	e->leases--;
	pthread_mutex_unlock(&pins->table->lock);
}

const struct cnbd_serve_hooks export_table_hooks = {
	.find_export = hook_find,
	.export_at = hook_export_at,
	.acquire = hook_acquire,
	.release = hook_release,
};

void export_pins_release(struct export_pins *pins)
{
	pthread_mutex_lock(&pins->table->lock);
	for (size_t i = 0; i < pins->count; i++)
		pins->list[i]->pins--;
	reap_locked(pins->table);
	pthread_mutex_unlock(&pins->table->lock);
	free(pins->list);
	pins->list = NULL;
	pins->count = 0;
}
