/* SPDX-License-Identifier: MIT */
/*
 * Parsing the devices file with inih through ini_lines, which reports
 * each [section] header and each key with its line (and refuses a section
 * given twice). A section is a device; keys are checked as they come so
 * that an error points at its line; a section without a uri is reported
 * at its header.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices_conf.h"
#include "common/ini_lines.h"
#include "common/parse.h"
#include "attach/sysfs_nbd.h"
#include "clientlib/uri.h"

#define DEVICES_CONF_MAX	(1024 * 1024)

struct parse_state {
	struct devices_conf *conf;
	struct device_conf *cur;
	const char *name;
	/* An error carrying its own line (a section that ended without a
	 * uri), which replaces the one ini_lines would give. */
	char err[512];
	/* Which keys the current section has set. */
	bool have_uri, have_connections, have_readonly, have_timeout;
	bool have_binding, have_dead_timeout, have_negotiate_timeout;
	bool have_tls_mode;
	bool uri_tls;		/* the section's uri is nbds:// */
};

bool device_spec_is_any(const char *spec)
{
	return !strcmp(spec, "any") || !strncmp(spec, "any-", 4);
}

int device_binding_parse(const char *s, enum device_binding *out)
{
	if (!strcmp(s, "auto"))
		*out = BINDING_AUTO;
	else if (!strcmp(s, "netlink"))
		*out = BINDING_NETLINK;
	else if (!strcmp(s, "ioctl"))
		*out = BINDING_IOCTL;
	else
		return -1;
	return 0;
}

const char *device_binding_name(enum device_binding b)
{
	return b == BINDING_NETLINK ? "netlink" : b == BINDING_IOCTL ? "ioctl" : "auto";
}

int device_tls_mode_parse(const char *s, enum device_tls_mode *out)
{
	if (!strcmp(s, "auto"))
		*out = TLS_MODE_AUTO;
	else if (!strcmp(s, "kernel"))
		*out = TLS_MODE_KERNEL;
	else if (!strcmp(s, "relay"))
		*out = TLS_MODE_RELAY;
	else
		return -1;
	return 0;
}

const char *device_tls_mode_name(enum device_tls_mode m)
{
	return m == TLS_MODE_KERNEL ? "kernel" : m == TLS_MODE_RELAY ? "relay" : "auto";
}

bool device_spec_valid(const char *spec)
{
	if (nbd_name_valid(spec) || !strcmp(spec, "any"))
		return true;
	if (strncmp(spec, "any-", 4) || !spec[4] || strlen(spec) > INI_MAX_SECTION_NAME)
		return false;
	for (const char *p = spec + 4; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

static struct device_conf *new_section(struct parse_state *st, const char *section,
				       int line, char *err, size_t errlen)
{
	struct devices_conf *c = st->conf;
	struct device_conf *v;

	if (!device_spec_valid(section)) {
		snprintf(err, errlen,
			 "[%s] is not a device: write [nbdN], [any] or [any-NAME]", section);
		return NULL;
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
	v->dead_timeout = DEVICE_DEFAULT_DEAD_TIMEOUT;
	v->negotiate_timeout = DEVICE_DEFAULT_NEGOTIATE_TIMEOUT;
	st->have_uri = st->have_connections = st->have_readonly = st->have_timeout = false;
	st->have_binding = st->have_dead_timeout = st->have_negotiate_timeout = false;
	st->have_tls_mode = false;
	st->uri_tls = false;
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

/* The keys that choose and tune the kernel binding. */
static int set_binding_key(struct parse_state *st, struct device_conf *d, const char *key,
			   const char *value, char *err, size_t errlen)
{
	uint64_t n;

	if (!strcmp(key, "binding")) {
		if (once(&st->have_binding, key, err, errlen) < 0)
			return -1;
		if (device_binding_parse(value, &d->binding) < 0) {
			snprintf(err, errlen, "binding = '%s': expected netlink, ioctl or auto",
				 value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "dead-timeout")) {
		if (once(&st->have_dead_timeout, key, err, errlen) < 0)
			return -1;
		if (parse_uint(value, DEVICE_MAX_TIMEOUT, &n) < 0) {
			snprintf(err, errlen, "dead-timeout = '%s': expected seconds, 0 to %d",
				 value, DEVICE_MAX_TIMEOUT);
			return -1;
		}
		d->dead_timeout = n;
		return 0;
	}
	if (!strcmp(key, "negotiate-timeout")) {
		if (once(&st->have_negotiate_timeout, key, err, errlen) < 0)
			return -1;
		if (parse_uint(value, DEVICE_MAX_NEGOTIATE_TIMEOUT, &n) < 0 || n == 0) {
			snprintf(err, errlen, "negotiate-timeout = '%s': expected seconds, 1 to %d",
				 value, DEVICE_MAX_NEGOTIATE_TIMEOUT);
			return -1;
		}
		d->negotiate_timeout = n;
		return 0;
	}
	if (!strcmp(key, "tls-mode")) {
		if (once(&st->have_tls_mode, key, err, errlen) < 0)
			return -1;
		if (device_tls_mode_parse(value, &d->tls_mode) < 0) {
			snprintf(err, errlen, "tls-mode = '%s': expected kernel, relay or auto",
				 value);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen,
		 "unknown key '%s' (expected uri, connections, readonly, timeout, binding, dead-timeout, negotiate-timeout or tls-mode)",
		 key);
	return -1;
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
		if (uri_parse_tls(value, &uri, err, errlen) < 0)
			return -1;
		st->uri_tls = uri.tls;
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
	return set_binding_key(st, d, key, value, err, errlen);
}

/* A section ends: it must have named its export. */
static int finish_section(struct parse_state *st)
{
	if (!st->cur)
		return 0;
	if (!st->have_uri) {
		snprintf(st->err, sizeof(st->err), "%s:%d: [%s] has no uri", st->name,
			 st->cur->line, st->cur->device);
		return -1;
	}
	if (st->have_tls_mode && !st->uri_tls) {
		snprintf(st->err, sizeof(st->err),
			 "%s:%d: [%s] has tls-mode, but its uri is not nbds:// (plaintext has no TLS to carry)",
			 st->name, st->cur->line, st->cur->device);
		return -1;
	}
	return 0;
}

static int on_section(void *user, const char *section, int line,
		      char *err, size_t errlen)
{
	struct parse_state *st = user;

	if (finish_section(st) < 0)
		return -1;
	st->cur = new_section(st, section, line, err, errlen);
	return st->cur ? 0 : -1;
}

static int on_key(void *user, const char *section, const char *key,
		  const char *value, int line, char *err, size_t errlen)
{
	struct parse_state *st = user;

	(void)section;
	(void)line;
	if (!st->cur) {
		snprintf(err, errlen, "'%s' outside a [device] section", key);
		return -1;
	}
	return set_key(st, st->cur, key, value, err, errlen);
}

int devices_conf_parse(const char *name, const char *text,
		       struct devices_conf *conf, char *err, size_t errlen)
{
	static const struct ini_callbacks cb = { .section = on_section, .key = on_key };
	struct parse_state st = { .conf = conf, .name = name };

	memset(conf, 0, sizeof(*conf));
	if (ini_parse_lines_string_ex(name, text, &cb, &st, err, errlen) == 0 &&
	    finish_section(&st) == 0)
		return 0;
	if (st.err[0])
		snprintf(err, errlen, "%s", st.err);
	devices_conf_free(conf);
	return -1;
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
