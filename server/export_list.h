/* SPDX-License-Identifier: MIT */
/*
 * The exports the master offers, and which one an empty name means.
 * (libcnbd has its own export_table for the embedded server.)
 *
 * Each worker serves from the copy of this table it got at fork, so the
 * master may change it at any time: a reload or the control socket
 * builds or edits the master's table, and only workers forked after see
 * the change. Every definition gets a generation of its own, which a
 * worker quotes when it asks for a lease, so that the master can tell
 * a definition it still offers from one replaced since the fork.
 */
#ifndef CNBD_SERVER_EXPORT_LIST_H
#define CNBD_SERVER_EXPORT_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "cnbd/serve.h"

struct export_entry {
	struct export_config def;	/* def.exp is what a worker serves */
	bool runtime;			/* added over the control socket */
};

struct export_list {
	struct export_entry **v;	/* in the order LIST shows them */
	size_t n, cap;
	char *default_name;		/* default-export; may be NULL */
};

void export_list_init(struct export_list *t);
/* Frees the entries; their export handles must be closed already. */
void export_list_free(struct export_list *t);

/* Appends def (moved in: *def is left empty) with a new generation.
 * 0, or -1 when out of memory (def is then untouched). */
int export_list_add(struct export_list *t, struct export_config *def, bool runtime);
/* A new entry for def (moved in) with a new generation; NULL when out
 * of memory (def is then untouched). */
struct export_entry *export_entry_new(struct export_config *def, bool runtime);
/* Appends an entry, e.g. one taken from another table, generation and
 * all; 0, or -1 when out of memory. Never fails after a reserve of
 * enough room. */
int export_list_append(struct export_list *t, struct export_entry *e);
int export_list_reserve(struct export_list *t, size_t n);
/* Moves every export of cfg in, in order; 0 or -1 (out of memory). */
int export_list_adopt(struct export_list *t, struct server_config *cfg);
/* Sets default-export (copied; NULL for none); 0 or -1. */
int export_list_set_default(struct export_list *t, const char *name);

/* The entry with exactly this name, or NULL. */
struct export_entry *export_list_get(const struct export_list *t, const char *name);
/* Unlinks and returns the entry with this name (NULL: none). */
struct export_entry *export_list_take(struct export_list *t, const char *name);
void export_entry_free(struct export_entry *e);

/* "" is the default export: default-export if given, else the export
 * named "default", else the only export if there is exactly one. */
const struct cnbd_export *export_list_find(const struct export_list *t,
					    const char *name);
const struct cnbd_export *export_list_at(const struct export_list *t, size_t i);
/* The definition an export of such a table belongs to (what find and
 * at return is always an entry's def.exp). */
const struct export_config *export_list_config(const struct cnbd_export *exp);

#endif
