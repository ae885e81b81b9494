/* SPDX-License-Identifier: MIT */
/* The second step after parsing: load each export's backend and open its
 * storage, in the master, with the master's privileges. */
#ifndef CNBD_SERVER_EXPORT_OPEN_H
#define CNBD_SERVER_EXPORT_OPEN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* With require_root_owned (the server runs as root) a backend directory
 * or .so writable by anyone but root is refused. 0, or -1 with
 * "file:line: export 'x': reason" in err and nothing left open. */
int export_open_all(struct server_config *cfg, bool require_root_owned,
		    char *err, size_t errlen);
void export_close_all(struct server_config *cfg);

#endif
