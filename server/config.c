/* SPDX-License-Identifier: MIT */
/*
 * The configuration: a main file with a [server] section and export
 * sections, then each drop-in file of exports-dir (export sections
 * only). Everything is checked here that can be without loading a
 * backend, and every complaint names the file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "common/ini_lines.h"
#include "common/parse.h"

int config_twice(int *first, int line, const char *key, char *err, size_t errlen)
{
	if (*first > 0) {
		snprintf(err, errlen, "'%s' given twice (first on line %d)", key, *first);
		return -1;
	}
	if (*first) {	/* given at run time, where there are no lines */
		snprintf(err, errlen, "'%s' given twice", key);
		return -1;
	}
	*first = line;
	return 0;
}

int config_set_string(char **dst, int *first, int line, const char *key,
		      const char *value, char *err, size_t errlen)
{
	char *copy;

	if (config_twice(first, line, key, err, errlen) < 0)
		return -1;
	if (!*value) {
		snprintf(err, errlen, "'%s' needs a value", key);
		return -1;
	}
	copy = strdup(value);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

int config_set_bool(bool *dst, int *first, int line, const char *key,
		    const char *value, char *err, size_t errlen)
{
	int b;

	if (config_twice(first, line, key, err, errlen) < 0)
		return -1;
	b = parse_bool(value);
	if (b < 0) {
		snprintf(err, errlen, "%s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
			 key, value);
		return -1;
	}
	*dst = b;
	return 0;
}

int config_set_path(char **dst, int *first, int line, const char *key,
		    const char *value, char *err, size_t errlen)
{
	if (*value && *value != '/') {
		snprintf(err, errlen, "%s: '%s' is not an absolute path", key, value);
		return -1;
	}
	return config_set_string(dst, first, line, key, value, err, errlen);
}

int config_set_number(int *dst, uint64_t max, int *first, int line,
		      const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t n;

	if (config_twice(first, line, key, err, errlen) < 0)
		return -1;
	if (parse_uint(value, max, &n) < 0) {
		snprintf(err, errlen, "%s: '%s' is not a number from 0 to %llu",
			 key, value, (unsigned long long)max);
		return -1;
	}
	*dst = (int)n;
	return 0;
}

/* Repeatable, like listen: each line adds entries to its list. */
int config_acl_key(struct acl *a, const char *key, const char *value,
		   char *err, size_t errlen)
{
	char why[256];
	struct acl_list *list = !strcmp(key, "allow") ? &a->allow : &a->deny;

	if (acl_list_parse(list, value, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", key, why);
	return -1;
}

static struct export_config *find_config_export(const struct server_config *cfg,
						const char *name)
{
	for (size_t i = 0; i < cfg->nexports; i++)
		if (!strcmp(cfg->exports[i].exp.name, name))
			return &cfg->exports[i];
	return NULL;
}

/* A new [NAME]: the export it defines, unless a file before defined it. */
static int new_export(struct config_parse *p, const char *name, int line,
		      char *err, size_t errlen)
{
	struct server_config *cfg = p->cfg;
	const struct export_config *old = find_config_export(cfg, name);
	struct export_config *ecs;
	struct export_lines *lines;

	if (old) {
		snprintf(err, errlen, "export '%s' is already defined in %s:%d",
			 name, old->source, old->line);
		return -1;
	}
	ecs = realloc(cfg->exports, (cfg->nexports + 1) * sizeof(*ecs));
	if (ecs)
		cfg->exports = ecs;
	lines = realloc(p->lines, (cfg->nexports + 1) * sizeof(*lines));
	if (lines)
		p->lines = lines;
	if (!ecs || !lines ||
	    config_export_init(&ecs[cfg->nexports], name, p->source, line) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&lines[cfg->nexports], 0, sizeof(*lines));
	cfg->nexports++;
	return 0;
}

static int on_section(void *user, const char *section, int line,
		      char *err, size_t errlen)
{
	struct config_parse *p = user;

	p->in_server = !strcmp(section, "server");
	if (!p->in_server)
		return new_export(p, section, line, err, errlen);
	if (p->main_file)
		return 0;
	snprintf(err, errlen, "[server] belongs in the main file %s, not in exports-dir",
		 p->cfg->source);
	return -1;
}

static int on_key(void *user, const char *section, const char *key,
		  const char *value, int line, char *err, size_t errlen)
{
	struct config_parse *p = user;
	size_t last = p->cfg->nexports - 1;

	if (!*section) {
		snprintf(err, errlen, "'%s' outside any section ([server] or [EXPORT-NAME])", key);
		return -1;
	}
	if (p->in_server)
		return config_server_key(p, key, value, line, err, errlen);
	/* Keys follow their header: the export is the last one added. */
	return config_export_key(&p->cfg->exports[last], &p->lines[last], key, value,
				 line, err, errlen);
}

static const struct ini_callbacks callbacks = {
	.section = on_section,
	.key = on_key,
};

/* What can only be judged once every file is read, in the order of the
 * files so that the first problem is the one reported. */
static int check_whole(struct config_parse *p, char *err, size_t errlen)
{
	struct server_config *cfg = p->cfg;

	if (config_tls_check(cfg, err, errlen) < 0)
		return -1;
	if (cfg->statistics_file && !cfg->statistics) {
		snprintf(err, errlen, "%s:%d: statistics-file: there are no statistics to write (statistics = off on line %d)",
			 cfg->source, p->server.statistics_file, p->server.statistics);
		return -1;
	}
	for (size_t i = 0; i < cfg->nexports; i++)
		if (config_export_check(&cfg->exports[i], &p->lines[i], err, errlen) < 0 ||
		    config_check_export_tls(cfg, &cfg->exports[i], p->lines[i].tls,
					    err, errlen) < 0)
			return -1;
	if (cfg->default_export && !find_config_export(cfg, cfg->default_export)) {
		snprintf(err, errlen, "%s:%d: default-export: no export named '%s'",
			 cfg->source, p->server.default_export, cfg->default_export);
		return -1;
	}
	/* Without a way to add exports later, none at all is a mistake. */
	if (!cfg->nexports && !cfg->exports_dir && !cfg->control_given) {
		snprintf(err, errlen, "%s: no exports: add a [NAME] section with a backend",
			 cfg->source);
		return -1;
	}
	return 0;
}

static int parse_dropins(struct config_parse *p, char *err, size_t errlen)
{
	char **paths, why[512];
	size_t n;
	int rc = 0;

	if (config_list_dir(p->cfg->exports_dir, &paths, &n, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%d: %s", p->cfg->source, p->server.exports_dir, why);
		return -1;
	}
	p->main_file = false;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *text = config_read_file(paths[i], err, errlen);

		p->source = paths[i];
		p->in_server = false;
		rc = text ? ini_parse_lines_string_ex(paths[i], text, &callbacks, p,
						      err, errlen) : -1;
		free(text);
	}
	/* Messages after this point name the main file. */
	p->source = p->cfg->source;
	config_free_paths(paths, n);
	return rc;
}

static int set_defaults(struct server_config *cfg, const char *name)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->handshake_timeout = CONFIG_DEFAULT_HANDSHAKE_TIMEOUT;
	cfg->max_workers = CONFIG_DEFAULT_MAX_WORKERS;
	cfg->unix_mode = CONFIG_DEFAULT_UNIX_MODE;
	cfg->statistics = true;
	cfg->statistics_interval = CONFIG_DEFAULT_STATS_INTERVAL;
	cfg->listen = calloc(1, sizeof(*cfg->listen));
	cfg->source = strdup(name);
	cfg->user = strdup(CONFIG_DEFAULT_USER);
	cfg->backend_dir = strdup(CNBD_BACKENDDIR);
	cfg->control = strdup(CONFIG_DEFAULT_CONTROL);
	if (!cfg->listen || !cfg->source || !cfg->user || !cfg->backend_dir ||
	    !cfg->control || !(cfg->listen[0] = strdup(CONFIG_DEFAULT_LISTEN)))
		return -1;
	cfg->nlisten = 1;
	return 0;
}

int config_parse_string(const char *name, const char *text,
			struct server_config *cfg, char *err, size_t errlen)
{
	struct config_parse p = { .cfg = cfg, .source = name, .main_file = true };
	int rc = -1;

	if (set_defaults(cfg, name) < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	if (ini_parse_lines_string_ex(name, text, &callbacks, &p, err, errlen) < 0)
		goto out;
	if (cfg->exports_dir && parse_dropins(&p, err, errlen) < 0)
		goto out;
	rc = check_whole(&p, err, errlen);
out:
	free(p.lines);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

int config_parse_file(const char *path, struct server_config *cfg,
		      char *err, size_t errlen)
{
	char *text = config_read_file(path, err, errlen);
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (!text)
		return -1;
	rc = config_parse_string(path, text, cfg, err, errlen);
	free(text);
	return rc;
}

int config_builtin(struct server_config *cfg, char *err, size_t errlen)
{
	static const char text[] =
		"[" CONFIG_DEFAULT_EXPORT_NAME "]\n"
		"backend = memory\n"
		"description = 1 GiB in memory (no configuration file)\n"
		"size = 1G\n";

	return config_parse_string("(built-in configuration)", text, cfg, err, errlen);
}

void config_free(struct server_config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i]);
	for (size_t i = 0; i < cfg->nexports; i++)
		config_export_free(&cfg->exports[i]);
	free(cfg->listen);
	free(cfg->exports);
	free(cfg->source);
	free(cfg->user);
	free(cfg->backend_dir);
	free(cfg->default_export);
	free(cfg->pidfile);
	free(cfg->exports_dir);
	free(cfg->control);
	free(cfg->statistics_file);
	free(cfg->tls.certificates);
	free(cfg->tls.psk_file);
	acl_free(&cfg->acl);
	memset(cfg, 0, sizeof(*cfg));
}
