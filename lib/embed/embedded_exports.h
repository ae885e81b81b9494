/* SPDX-License-Identifier: MIT */
/* The embedded server's export table: entries stay alive while any
 * connection that looked one up is still running, even after removal. */
#ifndef CNBD_EMBEDDED_EXPORTS_H
#define CNBD_EMBEDDED_EXPORTS_H

#include <pthread.h>

#include "cnbd/serve.h"
#include "cnbd/server.h"

struct embedded_export {
	struct cnbd_export exp;		/* first: the engine sees &entry->exp */
	unsigned pins;			/* connections that looked it up */
	unsigned leases;		/* connections that chose it */
	bool removed;
	struct embedded_export *next;
};

struct export_table {
	pthread_mutex_t lock;
	struct embedded_export *head;	/* live and removed-but-pinned */
};

/* Per connection: which entries it pinned, unpinned when it ends. */
struct export_pins {
	struct export_table *table;
	struct embedded_export **list;
	size_t count;
};

void export_table_init(struct export_table *t);
void export_table_destroy(struct export_table *t);
int export_table_add(struct export_table *t, const char *name,
		     const struct cnbd_backend *ops, void *handle,
		     const struct cnbd_export_options *opts);
int export_table_remove(struct export_table *t, const char *name);
void export_table_list(struct export_table *t,
		       void (*fn)(void *arg, const struct cnbd_export_status *st),
		       void *arg);
/* Hooks for cnbd_serve_connection(); ctx is a struct export_pins. */
extern const struct cnbd_serve_hooks export_table_hooks;
void export_pins_release(struct export_pins *pins);

#endif
