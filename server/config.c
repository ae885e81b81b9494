/* SPDX-License-Identifier: MIT */
/*
 * The configuration file: a [server] section and one section per export.
 * Everything is checked here that can be without loading a backend, and
 * every complaint names the file and line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_priv.h"
#include "ini_lines.h"
#include "listen.h"
#include "parse.h"

/* A configuration file is small; refuse to slurp something that is not. */
#define CONFIG_MAX_BYTES	(1 << 20)

int config_twice(int *first, int line, const char *key, char *err, size_t errlen)
{
	if (*first) {
		snprintf(err, errlen, "'%s' given twice (first on line %d)", key, *first);
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

static int set_number(int *dst, uint64_t max, int *first, int line,
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

static int set_unix_mode(struct config_parse *p, const char *value,
			 char *err, size_t errlen)
{
	char *end;
	unsigned long mode;

	if (config_twice(&p->server.unix_mode, p->line, "unix-mode", err, errlen) < 0)
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

static int server_key(struct config_parse *p, const char *key, const char *value,
		      char *err, size_t errlen)
{
	struct server_config *cfg = p->cfg;
	struct server_lines *l = &p->server;

	if (!strcmp(key, "listen"))
		return add_listen(p, value, err, errlen);
	if (!strcmp(key, "user")) {
		cfg->user_given = true;
		return config_set_string(&cfg->user, &l->user, p->line, key, value, err, errlen);
	}
	if (!strcmp(key, "backend-dir"))
		return config_set_string(&cfg->backend_dir, &l->backend_dir, p->line,
					 key, value, err, errlen);
	if (!strcmp(key, "default-export"))
		return config_set_string(&cfg->default_export, &l->default_export, p->line,
					 key, value, err, errlen);
	if (!strcmp(key, "pidfile")) {
		if (*value && *value != '/') {
			snprintf(err, errlen, "pidfile: '%s' is not an absolute path", value);
			return -1;
		}
		return config_set_string(&cfg->pidfile, &l->pidfile, p->line, key, value, err, errlen);
	}
	if (!strcmp(key, "handshake-timeout"))
		return set_number(&cfg->handshake_timeout, 3600, &l->handshake_timeout,
				  p->line, key, value, err, errlen);
	if (!strcmp(key, "unix-mode"))
		return set_unix_mode(p, value, err, errlen);
	snprintf(err, errlen,
		 "unknown key '%s' in [server] (known: listen, user, backend-dir, default-export, handshake-timeout, pidfile, unix-mode)",
		 key);
	return -1;
}

static int handle_key(void *user, const char *section, const char *key,
		      const char *value, char *err, size_t errlen)
{
	struct config_parse *p = user;

	/* The scan found a problem on a line before this one: report that
	 * one, so that errors come in the order of the file. */
	if (p->nkey >= p->scan->nkeys) {
		p->stopped_at_scan_error = p->scan_error != NULL;
		if (!p->scan_error)
			snprintf(err, errlen, "internal error: line count out of step");
		return 0;
	}
	p->line = p->scan->key_lines[p->nkey++];
	if (!*section) {
		snprintf(err, errlen, "'%s' outside any section ([server] or [EXPORT-NAME])", key);
		return 0;
	}
	if (!strcmp(section, "server"))
		return server_key(p, key, value, err, errlen) == 0;
	return config_export_key(p, section, key, value, err, errlen) == 0;
}

static int set_defaults(struct server_config *cfg, const char *name)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->handshake_timeout = CONFIG_DEFAULT_HANDSHAKE_TIMEOUT;
	cfg->unix_mode = CONFIG_DEFAULT_UNIX_MODE;
	cfg->listen = calloc(1, sizeof(*cfg->listen));
	cfg->source = strdup(name);
	cfg->user = strdup(CONFIG_DEFAULT_USER);
	cfg->backend_dir = strdup(CNBD_BACKENDDIR);
	if (!cfg->listen || !cfg->source || !cfg->user || !cfg->backend_dir ||
	    !(cfg->listen[0] = strdup(CONFIG_DEFAULT_LISTEN)))
		return -1;
	cfg->nlisten = 1;
	return 0;
}

static struct export_config *find_config_export(const struct server_config *cfg,
						const char *name)
{
	for (size_t i = 0; i < cfg->nexports; i++)
		if (!strcmp(cfg->exports[i].exp.name, name))
			return &cfg->exports[i];
	return NULL;
}

/* What can only be judged once the whole file is read, in the order of
 * the file so that the first problem is the one reported. */
static int check_whole(struct config_parse *p, char *err, size_t errlen)
{
	struct server_config *cfg = p->cfg;

	for (size_t i = 0; i < p->scan->nsections; i++) {
		const struct config_section *s = &p->scan->sections[i];
		struct export_config *ec = find_config_export(cfg, s->name);

		if (!strcmp(s->name, "server"))
			continue;
		/* An empty section never reaches the handler: no ec. */
		if (!ec || !ec->backend_name) {
			snprintf(err, errlen, "%s:%d: export '%s' has no backend (add backend = file, memory, ...)",
				 cfg->source, s->line, s->name);
			return -1;
		}
		if (config_export_check(p, ec, &p->lines[ec - cfg->exports], err, errlen) < 0)
			return -1;
	}
	if (cfg->default_export && !find_config_export(cfg, cfg->default_export)) {
		snprintf(err, errlen, "%s:%d: default-export: no export named '%s'",
			 cfg->source, p->server.default_export, cfg->default_export);
		return -1;
	}
	if (!cfg->nexports) {
		snprintf(err, errlen, "%s: no exports: add a [NAME] section with a backend", cfg->source);
		return -1;
	}
	return 0;
}

static int parse_text(struct config_parse *p, const char *name, const char *text,
		      char *err, size_t errlen)
{
	char scan_err[1024];
	int rc;

	if (config_scan(name, text, p->scan, scan_err,
			sizeof(scan_err)) < 0)
		p->scan_error = scan_err;
	rc = ini_parse_lines_string(name, text, handle_key, p, err, errlen);
	if (p->stopped_at_scan_error || (rc == 0 && p->scan_error)) {
		snprintf(err, errlen, "%s", p->scan_error);
		return -1;
	}
	if (rc < 0)
		return -1;
	return check_whole(p, err, errlen);
}

int config_parse_string(const char *name, const char *text,
			struct server_config *cfg, char *err, size_t errlen)
{
	struct config_scan scan;
	struct config_parse p = { .cfg = cfg, .scan = &scan };
	int rc;

	memset(&scan, 0, sizeof(scan));
	if (set_defaults(cfg, name) < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		config_free(cfg);
		return -1;
	}
	rc = parse_text(&p, name, text, err, errlen);
	config_scan_free(&scan);
	free(p.lines);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

static char *read_small_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
			 path, CONFIG_MAX_BYTES);
		goto out;
	}
	text = malloc(st.st_size + 1);
	if (!text)
		goto fail;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += n;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: contains a NUL byte: not a text file", path);
		goto out;
	}
	close(fd);
	return text;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
out:
	free(text);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int config_parse_file(const char *path, struct server_config *cfg,
		      char *err, size_t errlen)
{
	char *text = read_small_file(path, err, errlen);
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
	memset(cfg, 0, sizeof(*cfg));
}
