/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend_load.h"
#include "export_open.h"
#include "log.h"

int export_open(struct export_config *ec, const char *backend_dir,
		bool require_root_owned, char *err, size_t errlen)
{
	struct cnbd_export *e = &ec->exp;
	char why[512], where[512];

	config_where(ec, where, sizeof(where));
	e->backend = backend_load(backend_dir, ec->backend_name,
				  require_root_owned, why, sizeof(why));
	if (!e->backend) {
		snprintf(err, errlen, "%sexport '%s': %s", where, e->name, why);
		return -1;
	}
	if (!e->backend->open_export) {
		/* A backend without export-level state serves with a NULL
		 * handle, and has nowhere to take parameters. */
		if (!ec->nparams)
			return 0;
		snprintf(err, errlen, "%sexport '%s': backend '%s' takes no parameters (got '%s')",
			 where, e->name, ec->backend_name, ec->params[0].key);
		return -1;
	}
	errno = 0;
	log_clear_last_error();
	e->handle = e->backend->open_export(ec->params, ec->nparams);
	if (!e->handle) {
		/* The backend's own reason (cnbd_error) beats a bare errno:
		 * it also reaches nbdctl through the control socket. */
		const char *reason = log_last_error();

		snprintf(err, errlen, "%sexport '%s': backend '%s' cannot open it: %s",
			 where, e->name, ec->backend_name,
			 reason[0] ? reason : errno ? strerror(errno) : "failed");
		return -1;
	}
	log_debug("export '%s': backend '%s' opened", e->name, ec->backend_name);
	return 0;
}

void export_close(struct export_config *ec)
{
	struct cnbd_export *e = &ec->exp;

	if (e->handle && e->backend->close_export)
		e->backend->close_export(e->handle);
	e->handle = NULL;
}

int export_open_all(struct server_config *cfg, bool require_root_owned,
		    char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nexports; i++) {
		if (export_open(&cfg->exports[i], cfg->backend_dir, require_root_owned,
				err, errlen) < 0) {
			export_close_all(cfg);
			return -1;
		}
	}
	return 0;
}

void export_close_all(struct server_config *cfg)
{
	for (size_t i = 0; i < cfg->nexports; i++)
		export_close(&cfg->exports[i]);
}

void export_close_list(struct export_list *t)
{
	for (size_t i = 0; i < t->n; i++)
		export_close(&t->v[i]->def);
}
