/* SPDX-License-Identifier: MIT */
/* Shared by config.c and config_export.c: the state of one parse. */
#ifndef CNBD_SERVER_CONFIG_PRIV_H
#define CNBD_SERVER_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "config_scan.h"

/* Lines on which known keys were given (0: not given), to refuse a key
 * given twice and to point at the right line after parsing. */
struct export_lines {
	int backend, description, readonly, max_connections;
	int min_block, pref_block, max_block;
};

struct server_lines {
	int user, backend_dir, default_export, handshake_timeout;
	int pidfile, unix_mode;
	bool listen_given;
};

struct config_parse {
	struct server_config *cfg;
	struct config_scan *scan;
	const char *scan_error;		/* deferred: see config.c */
	bool stopped_at_scan_error;
	size_t nkey;			/* handler calls so far */
	int line;			/* of the key being handled */
	struct server_lines server;
	struct export_lines *lines;	/* one per cfg->exports entry */
};

/* config_export.c; config_export_check judges the block sizes. */
int config_export_key(struct config_parse *p, const char *section,
		      const char *key, const char *value,
		      char *err, size_t errlen);
int config_export_check(struct config_parse *p, struct export_config *ec,
			const struct export_lines *lines, char *err, size_t errlen);
void config_export_free(struct export_config *ec);

/* config.c: shared by both kinds of section. */
/* Records the line of key in *first; -1 if it was given before. */
int config_twice(int *first, int line, const char *key, char *err, size_t errlen);
/* A non-empty string value given at most once. */
int config_set_string(char **dst, int *first, int line, const char *key,
		      const char *value, char *err, size_t errlen);

#endif
