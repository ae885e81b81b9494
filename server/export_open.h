/* SPDX-License-Identifier: MIT */
/* The second step after parsing: load each export's backend and open its
 * storage, in the master, with the master's privileges. */
#ifndef CNBD_SERVER_EXPORT_OPEN_H
#define CNBD_SERVER_EXPORT_OPEN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "export_list.h"

/* With require_root_owned (the server runs as root) a backend directory
 * or .so writable by anyone but root is refused. 0, or -1 with
 * "file:line: export 'x': reason" in err and nothing left open. */
int export_open(struct export_config *ec, const char *backend_dir,
		bool require_root_owned, char *err, size_t errlen);
/* Closes the master's handle. Workers keep theirs: what a worker holds
 * (descriptors, mappings) are its own copies, made by fork. */
void export_close(struct export_config *ec);

/* Every export of cfg, or none. */
int export_open_all(struct server_config *cfg, bool require_root_owned,
		    char *err, size_t errlen);
void export_close_all(struct server_config *cfg);
void export_close_list(struct export_list *t);

#endif
