/* SPDX-License-Identifier: MIT */
/* The [server] section: where to listen, whom workers run as, and what
 * the master itself keeps (pid file, control socket, exports-dir). The
 * tls keys are config_tls.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "common/listen.h"

/* The first listen line replaces the default; later ones add to it. */
static int add_listen(struct config_parse *p, const char *value,
		      char *err, size_t errlen)
{
	struct server_config *cfg = p->cfg;
	struct listen_addr addr;
	char **list;

	if (listen_parse(value, &addr, err, errlen) < 0)
		return -1;
	if (!p->server.listen_given) {
		for (size_t i = 0; i < cfg->nlisten; i++)
			free(cfg->listen[i]);
		cfg->nlisten = 0;
		p->server.listen_given = true;
	}
	list = realloc(cfg->listen, (cfg->nlisten + 1) * sizeof(*list));
	if (!list || !(list[cfg->nlisten] = strdup(value))) {
		if (list)
			cfg->listen = list;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg->listen = list;
	cfg->nlisten++;
	return 0;
}

static int set_unix_mode(struct config_parse *p, const char *value, int line,
			 char *err, size_t errlen)
{
	char *end;
	unsigned long mode;

	if (config_twice(&p->server.unix_mode, line, "unix-mode", err, errlen) < 0)
		return -1;
	errno = 0;
	mode = strtoul(value, &end, 8);
	if (!*value || *end || errno || mode > 0777) {
		snprintf(err, errlen, "unix-mode: '%s' is not an octal mode from 0 to 0777", value);
		return -1;
	}
	p->cfg->unix_mode = mode;
	return 0;
}

/* control = PATH, or off to have none. */
static int set_control(struct config_parse *p, const char *value, int line,
		       char *err, size_t errlen)
{
	struct server_config *cfg = p->cfg;

	cfg->control_given = true;
	if (strcmp(value, "off"))
		return config_set_path(&cfg->control, &p->server.control, line, "control",
				value, err, errlen);
	if (config_twice(&p->server.control, line, "control", err, errlen) < 0)
		return -1;
	free(cfg->control);
	cfg->control = NULL;
	return 0;
}

static int set_interval(struct server_config *cfg, struct server_lines *l, int line,
			const char *value, char *err, size_t errlen)
{
	if (config_set_number(&cfg->statistics_interval, 3600, &l->statistics_interval, line,
			      "statistics-interval", value, err, errlen) < 0)
		return -1;
	if (cfg->statistics_interval)
		return 0;
	snprintf(err, errlen, "statistics-interval: 0 is not from 1 to 3600 seconds");
	return -1;
}

int config_server_key(struct config_parse *p, const char *key, const char *value,
		      int line, char *err, size_t errlen)
{
	struct server_config *cfg = p->cfg;
	struct server_lines *l = &p->server;

	if (!strcmp(key, "listen"))
		return add_listen(p, value, err, errlen);
	if (!strcmp(key, "user")) {
		cfg->user_given = true;
		return config_set_string(&cfg->user, &l->user, line, key, value, err, errlen);
	}
	if (!strcmp(key, "backend-dir"))
		return config_set_string(&cfg->backend_dir, &l->backend_dir, line,
					 key, value, err, errlen);
	if (!strcmp(key, "default-export"))
		return config_set_string(&cfg->default_export, &l->default_export, line,
					 key, value, err, errlen);
	if (!strcmp(key, "pidfile"))
		return config_set_path(&cfg->pidfile, &l->pidfile, line, key, value, err, errlen);
	if (!strcmp(key, "exports-dir"))
		return config_set_path(&cfg->exports_dir, &l->exports_dir, line, key, value,
				err, errlen);
	if (!strcmp(key, "control"))
		return set_control(p, value, line, err, errlen);
	if (!strcmp(key, "handshake-timeout"))
		return config_set_number(&cfg->handshake_timeout, 3600, &l->handshake_timeout,
					 line, key, value, err, errlen);
	if (!strcmp(key, "max-workers"))
		return config_set_number(&cfg->max_workers, 1 << 20, &l->max_workers,
					 line, key, value, err, errlen);
	if (!strcmp(key, "unix-mode"))
		return set_unix_mode(p, value, line, err, errlen);
	if (config_is_tls_key(key))
		return config_tls_key(p, key, value, line, err, errlen);
	if (!strcmp(key, "allow") || !strcmp(key, "deny"))
		return config_acl_key(&cfg->acl, key, value, err, errlen);
	if (!strcmp(key, "statistics"))
		return config_set_bool(&cfg->statistics, &l->statistics, line, key, value,
				       err, errlen);
	if (!strcmp(key, "statistics-file"))
		return config_set_path(&cfg->statistics_file, &l->statistics_file, line, key,
				       value, err, errlen);
	if (!strcmp(key, "statistics-interval"))
		return set_interval(cfg, l, line, value, err, errlen);
	snprintf(err, errlen,
		 "unknown key '%s' in [server] (known: listen, user, backend-dir, default-export, handshake-timeout, max-workers, pidfile, unix-mode, exports-dir, control, tls, tls-certificates, tls-psk-file, tls-verify-peer, tls-kernel, allow, deny, statistics, statistics-file, statistics-interval)",
		 key);
	return -1;
}
