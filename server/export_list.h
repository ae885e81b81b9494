/* SPDX-License-Identifier: MIT */
/* The exports a server offers, and which one an empty name means.
 * (libcnbd has its own export_table for the embedded server.) */
#ifndef CNBD_SERVER_EXPORT_LIST_H
#define CNBD_SERVER_EXPORT_LIST_H

#include <stddef.h>

#include "config.h"
#include "export.h"

struct export_list {
	const struct cnbd_export **exports;
	size_t nexports;
	const char *default_name;	/* from default-export; may be NULL */
};

/* A table over the exports of cfg (which must outlive it). */
int export_list_init(struct export_list *t, const struct server_config *cfg);
void export_list_free(struct export_list *t);

/* "" is the default export: default-export if given, else the export
 * named "default", else the only export if there is exactly one. */
const struct cnbd_export *export_list_find(const struct export_list *t,
					    const char *name);
const struct cnbd_export *export_list_at(const struct export_list *t, size_t i);

#endif
