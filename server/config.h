/* SPDX-License-Identifier: MIT */
/*
 * nbd-serverd's configuration file, parsed into plain data. Parsing never
 * loads a backend or touches storage: that is export_open.c's job, a
 * second step, so a configuration can be checked (and unit tested)
 * without any shared object.
 */
#ifndef CNBD_SERVER_CONFIG_H
#define CNBD_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "export.h"

#define CONFIG_DEFAULT_LISTEN		"127.0.0.1:10809"
#define CONFIG_DEFAULT_USER		"nbd"
#define CONFIG_FALLBACK_USER		"nobody"
#define CONFIG_DEFAULT_EXPORT_NAME	"default"
#define CONFIG_DEFAULT_HANDSHAKE_TIMEOUT 30
#define CONFIG_DEFAULT_UNIX_MODE	0666

/* One [NAME] section. exp holds everything but backend and handle, which
 * export_open() fills in. */
struct export_config {
	struct cnbd_export exp;
	char *backend_name;
	struct cnbd_param *params;	/* keys the server does not know */
	size_t nparams;
	int line;			/* of the [NAME] header, for messages */
};

struct server_config {
	char *source;			/* file name used in messages */
	char **listen;
	size_t nlisten;
	char *user;
	bool user_given;		/* no fallback to nobody when given */
	char *backend_dir;
	char *default_export;		/* NULL: the rule in export_table.c */
	int handshake_timeout;
	char *pidfile;
	unsigned unix_mode;
	struct export_config *exports;
	size_t nexports;
};

/* Parse a configuration file. 0, or -1 with "file:line: reason" in err
 * (cfg is then empty). */
int config_parse_file(const char *path, struct server_config *cfg,
		      char *err, size_t errlen);
/* The same for text in memory; name stands for the file in messages. */
int config_parse_string(const char *name, const char *text,
			struct server_config *cfg, char *err, size_t errlen);
/* What the server runs with no configuration file: one 1 GiB memory
 * export named "default" on 127.0.0.1:10809. */
int config_builtin(struct server_config *cfg, char *err, size_t errlen);
void config_free(struct server_config *cfg);

#endif
