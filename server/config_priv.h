/* SPDX-License-Identifier: MIT */
/* Shared by the config_*.c files: the state of one parse. */
#ifndef CNBD_SERVER_CONFIG_PRIV_H
#define CNBD_SERVER_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Lines on which known keys were given (0: not given), to refuse a key
 * given twice and to point at the right line after parsing. */
struct export_lines {
	int backend, description, readonly, max_connections;
	int min_block, pref_block, max_block;
	int tls;
};

struct server_lines {
	int user, backend_dir, default_export, handshake_timeout, max_workers;
	int pidfile, unix_mode, exports_dir, control;
	int statistics, statistics_file, statistics_interval;
	bool listen_given;
};

struct config_parse {
	struct server_config *cfg;
	const char *source;		/* the file being read */
	bool main_file;			/* [server] belongs here only */
	bool in_server;			/* the current section is [server] */
	struct server_lines server;
	struct export_lines *lines;	/* one per cfg->exports entry */
};

/* config_server.c: one key of [server]. */
int config_server_key(struct config_parse *p, const char *key, const char *value,
		      int line, char *err, size_t errlen);

/* config_tls.c: the tls keys of [server], and what they need. */
bool config_is_tls_key(const char *key);
int config_tls_key(struct config_parse *p, const char *key, const char *value,
		   int line, char *err, size_t errlen);
/* Once [server] is read: credentials named for a tls that is on. */
int config_tls_check(const struct server_config *cfg, char *err, size_t errlen);

/* config_export.c */
int config_export_init(struct export_config *ec, const char *name,
		       const char *source, int line);
int config_export_key(struct export_config *ec, struct export_lines *l,
		      const char *key, const char *value, int line,
		      char *err, size_t errlen);
/* What needs the whole section: a backend, block sizes that agree. */
int config_export_check(const struct export_config *ec,
			const struct export_lines *l, char *err, size_t errlen);

/* config_read.c: a small text file whole, and the *.conf of a dir. */
char *config_read_file(const char *path, char *err, size_t errlen);
int config_list_dir(const char *dir, char ***paths, size_t *n,
		    char *err, size_t errlen);
void config_free_paths(char **paths, size_t n);

/* Shared by both kinds of section. */
/* Records the line of key in *first; -1 if it was given before. */
int config_twice(int *first, int line, const char *key, char *err, size_t errlen);
/* A non-empty string value given at most once. */
int config_set_string(char **dst, int *first, int line, const char *key,
		      const char *value, char *err, size_t errlen);
int config_set_bool(bool *dst, int *first, int line, const char *key,
		    const char *value, char *err, size_t errlen);
/* An absolute path: a daemon works from "/", and a reload must find
 * what the start found. */
int config_set_path(char **dst, int *first, int line, const char *key,
		    const char *value, char *err, size_t errlen);
int config_set_number(int *dst, uint64_t max, int *first, int line,
		      const char *key, const char *value, char *err, size_t errlen);

#endif
