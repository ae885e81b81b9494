/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend_load.h"
#include "export_open.h"
#include "log.h"

static int open_one(const struct server_config *cfg, struct export_config *ec,
		    bool require_root_owned, char *err, size_t errlen)
{
	struct cnbd_export *e = &ec->exp;
	char why[512];

	e->backend = backend_load(cfg->backend_dir, ec->backend_name,
				  require_root_owned, why, sizeof(why));
	if (!e->backend) {
		snprintf(err, errlen, "%s:%d: export '%s': %s", cfg->source, ec->line,
			 e->name, why);
		return -1;
	}
	if (!e->backend->open_export) {
		/* A backend without export-level state serves with a NULL
		 * handle, and has nowhere to take parameters. */
		if (!ec->nparams)
			return 0;
		snprintf(err, errlen, "%s:%d: export '%s': backend '%s' takes no parameters (got '%s')",
			 cfg->source, ec->line, e->name, ec->backend_name, ec->params[0].key);
		return -1;
	}
	errno = 0;
	e->handle = e->backend->open_export(ec->params, ec->nparams);
	if (!e->handle) {
		/* The backend said why through cnbd_error, already logged. */
		snprintf(err, errlen, "%s:%d: export '%s': backend '%s' cannot open it: %s",
			 cfg->source, ec->line, e->name, ec->backend_name,
			 errno ? strerror(errno) : "failed");
		return -1;
	}
	log_debug("export '%s': backend '%s' opened", e->name, ec->backend_name);
	return 0;
}

int export_open_all(struct server_config *cfg, bool require_root_owned,
		    char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nexports; i++) {
		if (open_one(cfg, &cfg->exports[i], require_root_owned, err, errlen) < 0) {
			export_close_all(cfg);
			return -1;
		}
	}
	return 0;
}

void export_close_all(struct server_config *cfg)
{
	for (size_t i = 0; i < cfg->nexports; i++) {
		struct cnbd_export *e = &cfg->exports[i].exp;

		if (e->handle && e->backend->close_export)
			e->backend->close_export(e->handle);
		e->handle = NULL;
	}
}
