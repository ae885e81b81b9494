/* SPDX-License-Identifier: MIT */
/*
 * nbd-serverd's configuration: the main file and the drop-in files of
 * exports-dir, parsed into plain data. Parsing never loads a backend or
 * touches storage: that is export_open.c's job, a second step, so a
 * configuration can be checked (and unit tested) without any shared
 * object.
 */
#ifndef CNBD_SERVER_CONFIG_H
#define CNBD_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "acl.h"
#include "cnbd/serve.h"

#define CONFIG_DEFAULT_LISTEN		"127.0.0.1:10809"
#define CONFIG_DEFAULT_USER		"nbd"
#define CONFIG_FALLBACK_USER		"nobody"
#define CONFIG_DEFAULT_EXPORT_NAME	"default"
#define CONFIG_DEFAULT_HANDSHAKE_TIMEOUT 30
/* Workers at once; past it new clients wait in the listen backlog. */
#define CONFIG_DEFAULT_MAX_WORKERS	1024
#define CONFIG_DEFAULT_UNIX_MODE	0666
#define CONFIG_DEFAULT_CONTROL		"/run/cnbd/serverd.sock"
/* Seconds between two writes of statistics-file. */
#define CONFIG_DEFAULT_STATS_INTERVAL	15
/* What the control socket's add calls where a file would name itself. */
#define CONFIG_RUNTIME_SOURCE		"control socket"

/* One export: a [NAME] section, or an add over the control socket. exp
 * holds everything but backend and handle, which export_open() fills. */
struct export_config {
	struct cnbd_export exp;
	char *backend_name;
	struct cnbd_param *params;	/* keys the server does not know */
	size_t nparams;
	char *source;			/* the file, or CONFIG_RUNTIME_SOURCE */
	int line;			/* of the [NAME] header; 0 at run time */
	struct acl acl;			/* allow, deny: checked by the master */
};

/* [server] tls and its credentials. The lines (0: not given) are kept
 * for messages that come after parsing: credentials are loaded by the
 * master (tls_load.c), at start and at each reload. */
/* tls-kernel: whether a worker moves its session into kernel TLS after
 * the handshake (tls_kernel.c). Off by default: measured, it pays for
 * large reads and costs for small ones (docs/performance.md, "TLS"). */
enum tls_kernel_mode {
	TLS_KERNEL_OFF,			/* GnuTLS throughout */
	TLS_KERNEL_AUTO,		/* where the kernel can take it */
};

struct tls_config {
	enum cnbd_tls_mode mode;
	char *certificates;		/* a directory; NULL: none */
	char *psk_file;			/* NULL: none */
	bool verify_peer;		/* clients need a certificate */
	enum tls_kernel_mode kernel;
	int mode_line, certificates_line, psk_file_line, verify_peer_line, kernel_line;
};

struct server_config {
	char *source;			/* the main file, for messages */
	char **listen;
	size_t nlisten;
	char *user;
	bool user_given;		/* no fallback to nobody when given */
	char *backend_dir;
	char *default_export;		/* NULL: the rule in export_list.c */
	int handshake_timeout;
	int max_workers;
	char *pidfile;
	unsigned unix_mode;
	char *exports_dir;		/* NULL: none */
	char *control;			/* the control socket; NULL: none */
	bool control_given;		/* else the default, where it can be */
	struct tls_config tls;
	struct acl acl;			/* allow, deny: applied at accept */
	bool statistics;		/* workers count what they serve */
	char *statistics_file;		/* Prometheus text; NULL: none */
	int statistics_interval;	/* seconds between writes of it */
	struct export_config *exports;	/* main file first, then each drop-in */
	size_t nexports;
};

/* Parse a configuration file and the files of its exports-dir. 0, or -1
 * with "file:line: reason" in err (cfg is then empty). */
int config_parse_file(const char *path, struct server_config *cfg,
		      char *err, size_t errlen);
/* The same for the main text in memory; name stands for the file. */
int config_parse_string(const char *name, const char *text,
			struct server_config *cfg, char *err, size_t errlen);
/* What the server runs with no configuration file: one 1 GiB memory
 * export named "default" on 127.0.0.1:10809. */
int config_builtin(struct server_config *cfg, char *err, size_t errlen);
void config_free(struct server_config *cfg);

/* An export given as key = value pairs at run time, checked as a
 * section of the file would be. 0, or -1 with the reason in err. */
int config_export_runtime(const char *name, const struct cnbd_param *pairs,
			  size_t npairs, struct export_config *ec,
			  char *err, size_t errlen);
/* An export that asks for TLS (tls = require) on a server without it
 * is a mistake: nobody could ever use it. 0, or -1 with the reason. */
int config_check_export_tls(const struct server_config *cfg,
			    const struct export_config *ec, int line,
			    char *err, size_t errlen);
/* A name a section could carry: 1 to 49 bytes, not "server", nothing a
 * file could not hold. 0, or -1 with the reason in err. */
int config_check_name(const char *name, char *err, size_t errlen);
/* allow = or deny = (acl.h) into a, for [server] and exports alike:
 * 0, or -1 with the reason in err. */
int config_acl_key(struct acl *a, const char *key, const char *value,
		   char *err, size_t errlen);
/* "file:line: " for messages about ec ("" for a run-time export). */
const char *config_where(const struct export_config *ec, char *buf, size_t len);
void config_export_free(struct export_config *ec);

#endif
