/* SPDX-License-Identifier: MIT */
/*
 * Parsing the devices file with inih through ini_lines (which knows each
 * key's line). A section is a device; keys are checked as they come so
 * that an error points at its line; what needs the whole section (a
 * missing uri) points at the section's first key.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices_conf.h"
#include "ini_lines.h"
#include "parse.h"
#include "sysfs_nbd.h"
#include "uri.h"

#define DEVICES_CONF_MAX	(1024 * 1024)

/* A [section] header as written, and its line. */
struct header {
	char name[64];
	int line;
};

struct parse_state {
	struct devices_conf *conf;
	struct device_conf *cur;
	const char *name;
	struct header *headers;
	size_t nheaders, next_header;
	/* An error placed by this file (its own line number), which then
	 * replaces the one ini_lines would give. */
	char err[512];
	/* Which keys the current section has set. */
	bool have_uri, have_connections, have_readonly, have_timeout;
};

bool device_spec_is_any(const char *spec)
{
	return !strcmp(spec, "any") || !strncmp(spec, "any-", 4);
}

bool device_spec_valid(const char *spec)
{
	if (nbd_name_valid(spec) || !strcmp(spec, "any"))
		return true;
	/* inih keeps at most 49 bytes of a section name. */
	if (strncmp(spec, "any-", 4) || !spec[4] || strlen(spec) > 49)
		return false;
	for (const char *p = spec + 4; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

/*
 * Moves to the header of section. Headers passed over had no keys at all
 * (inih reports keys, not sections), so they lack a uri.
 */
static int find_header(struct parse_state *st, const char *section)
{
	while (st->next_header < st->nheaders) {
		struct header *h = &st->headers[st->next_header++];

		if (!strcmp(h->name, section))
			return h->line;
		snprintf(st->err, sizeof(st->err), "%s:%d: [%s] has no uri", st->name,
			 h->line, h->name);
		return -1;
	}
	return 0;
}

static struct device_conf *new_section(struct parse_state *st, const char *section,
				       char *err, size_t errlen)
{
	struct devices_conf *c = st->conf;
	struct device_conf *v;
	int line = find_header(st, section);

	if (line < 0)
		return NULL;
	if (!device_spec_valid(section)) {
		snprintf(st->err, sizeof(st->err),
			 "%s:%d: [%s] is not a device: write [nbdN], [any] or [any-NAME]",
			 st->name, line, section);
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (!strcmp(c->v[i].device, section)) {
			snprintf(st->err, sizeof(st->err),
				 "%s:%d: [%s] appears twice (first at line %d)",
				 st->name, line, section, c->v[i].line);
			return NULL;
		}
	}
	v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->v = v;
	v = &c->v[c->n++];
	memset(v, 0, sizeof(*v));
	snprintf(v->device, sizeof(v->device), "%s", section);
	v->line = line;
	v->connections = 1;
	v->timeout = DEVICE_DEFAULT_TIMEOUT;
	st->have_uri = st->have_connections = st->have_readonly = st->have_timeout = false;
	return v;
}

static int once(bool *seen, const char *key, char *err, size_t errlen)
{
	if (*seen) {
		snprintf(err, errlen, "%s given twice in this section", key);
		return -1;
	}
	*seen = true;
	return 0;
}

static int set_key(struct parse_state *st, struct device_conf *d, const char *key,
		   const char *value, char *err, size_t errlen)
{
	struct nbd_uri uri;
	uint64_t n;
	int b;

	if (!strcmp(key, "uri")) {
		if (once(&st->have_uri, key, err, errlen) < 0)
			return -1;
		if (uri_parse(value, &uri, err, errlen) < 0)
			return -1;
		d->uri = strdup(value);
		return d->uri ? 0 : -1;
	}
	if (!strcmp(key, "connections")) {
		if (once(&st->have_connections, key, err, errlen) < 0)
			return -1;
		if (parse_uint(value, DEVICE_MAX_CONNECTIONS, &n) < 0 || n == 0) {
			snprintf(err, errlen, "connections = '%s': expected 1 to %d",
				 value, DEVICE_MAX_CONNECTIONS);
			return -1;
		}
		d->connections = n;
		return 0;
	}
	if (!strcmp(key, "readonly")) {
		if (once(&st->have_readonly, key, err, errlen) < 0)
			return -1;
		b = parse_bool(value);
		if (b < 0) {
			snprintf(err, errlen, "readonly = '%s': expected true or false", value);
			return -1;
		}
		d->readonly = b;
		return 0;
	}
	if (!strcmp(key, "timeout")) {
		if (once(&st->have_timeout, key, err, errlen) < 0)
			return -1;
		if (parse_uint(value, DEVICE_MAX_TIMEOUT, &n) < 0) {
			snprintf(err, errlen, "timeout = '%s': expected seconds, 0 to %d",
				 value, DEVICE_MAX_TIMEOUT);
			return -1;
		}
		d->timeout = n;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' (expected uri, connections, readonly or timeout)",
		 key);
	return -1;
}

/* A section ends: it must have named its export. */
static int finish_section(struct parse_state *st)
{
	if (!st->cur || st->have_uri)
		return 0;
	snprintf(st->err, sizeof(st->err), "%s:%d: [%s] has no uri", st->name,
		 st->cur->line, st->cur->device);
	return -1;
}

static int handle(void *user, const char *section, const char *key,
		  const char *value, char *err, size_t errlen)
{
	struct parse_state *st = user;

	if (!section[0]) {
		snprintf(err, errlen, "'%s' outside a [device] section", key);
		return 0;
	}
	if (!st->cur || strcmp(st->cur->device, section)) {
		if (finish_section(st) < 0)
			return 0;
		st->cur = new_section(st, section, err, errlen);
		if (!st->cur)
			return 0;
	}
	return set_key(st, st->cur, key, value, err, errlen) == 0;
}

/* The [section] lines, as inih will see them (no stripping inside). */
static int scan_headers(struct parse_state *st, const char *text)
{
	int line = 0;

	for (const char *p = text; *p; ) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *q = p;

		line++;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q < end && *q == '[') {
			const char *close = memchr(q, ']', end - q);
			struct header *h;

			if (close) {
				h = realloc(st->headers, (st->nheaders + 1) * sizeof(*h));
				if (!h)
					return -1;
				st->headers = h;
				h = &h[st->nheaders++];
				snprintf(h->name, sizeof(h->name), "%.*s",
					 (int)(close - q - 1), q + 1);
				h->line = line;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int devices_conf_parse(const char *name, const char *text,
		       struct devices_conf *conf, char *err, size_t errlen)
{
	struct parse_state st = { .conf = conf, .name = name };
	int rc = -1;

	memset(conf, 0, sizeof(*conf));
	if (scan_headers(&st, text) < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	/* inih would cut a longer name short and then match nothing. */
	for (size_t i = 0; i < st.nheaders; i++) {
		if (strlen(st.headers[i].name) > 49) {
			snprintf(st.err, sizeof(st.err),
				 "%s:%d: [%s] is not a device: names are at most 49 characters",
				 name, st.headers[i].line, st.headers[i].name);
			goto out;
		}
	}
	if (ini_parse_lines_string(name, text, handle, &st, err, errlen) < 0)
		goto out;
	/* The last section, and headers after the last key. */
	if (finish_section(&st) < 0 || find_header(&st, "") < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && st.err[0])
		snprintf(err, errlen, "%s", st.err);
	if (rc < 0)
		devices_conf_free(conf);
	free(st.headers);
	return rc;
}

int devices_conf_load(const char *path, struct devices_conf *conf,
		      char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	memset(conf, 0, sizeof(*conf));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* A devices file is small; a huge one is a mistake, not a config. */
	text = malloc(DEVICES_CONF_MAX + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	len = fread(text, 1, DEVICES_CONF_MAX + 1, f);
	if (ferror(f) || len > DEVICES_CONF_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 ferror(f) ? "read error" : "larger than 1 MiB");
		goto out;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: contains a NUL byte (not a text file)", path);
		goto out;
	}
	rc = devices_conf_parse(path, text, conf, err, errlen);
out:
	free(text);
	fclose(f);
	return rc;
}

void devices_conf_free(struct devices_conf *conf)
{
	for (size_t i = 0; i < conf->n; i++)
		free(conf->v[i].uri);
	free(conf->v);
	conf->v = NULL;
	conf->n = 0;
}
