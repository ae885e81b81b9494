/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach/sysfs_nbd.h"
#include "common/log.h"
#include "common/parse.h"
#include "device_state.h"

static char state_dir[256] = "/run/cnbd/devices";

void device_state_init(const char *control_socket)
{
	const char *slash = strrchr(control_socket, '/');
	int dirlen = slash ? (int)(slash - control_socket) : 1;

	snprintf(state_dir, sizeof(state_dir), "%.*s/devices", dirlen,
		 slash ? control_socket : ".");
}

static void record_path(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", state_dir, name);
}

/*
 * A record is "key = value" lines. Values are written escaped, so that no
 * value (a URI, an error a server sent) can end its line and start one
 * of its own: control bytes, DEL and the backslash become \xHH. Records
 * of earlier runs, written unescaped, read the same: what they held
 * (URIs, numbers, specs) has no backslash.
 */
static void put_value(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s = ", key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			fprintf(f, "\\x%02x", *p);
		else
			putc(*p, f);
	}
	putc('\n', f);
}

static void put_number(FILE *f, const char *key, uint64_t n)
{
	fprintf(f, "%s = %" PRIu64 "\n", key, n);
}

void device_state_save(const struct device *d, const struct cnbd_attach_status *st)
{
	char path[320], tmp[340];
	FILE *f;

	record_path(st->device, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	f = fopen(tmp, "we");
	if (!f)
		goto fail;
	fprintf(f, "; nbd-clientd: %s as it was attached, for a restarted daemon to take over\n",
		st->device);
	put_value(f, "spec", d->spec);
	put_value(f, "uri", d->uri_text);
	put_number(f, "connections", d->connections);
	put_number(f, "readonly", d->readonly);
	put_number(f, "timeout", d->timeout);
	put_number(f, "dead-timeout", d->dead_timeout);
	put_number(f, "negotiate-timeout", d->negotiate_timeout);
	put_number(f, "size", st->size);
	put_number(f, "blksize", st->block_size);
	put_number(f, "flags", st->flags);
	put_number(f, "from-config", d->from_config);
	put_value(f, "tls-mode", device_tls_mode_name(d->tls_mode));
	put_value(f, "tls", st->tls);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		goto fail;
	return;
fail:
	log_warn("%s: cannot record it in %s (a restarted daemon will not take it over): %s",
		 st->device, path, strerror(errno));
	unlink(tmp);
}

void device_state_forget(const char *name)
{
	char path[320];

	if (!name[0])
		return;
	record_path(name, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
}

struct record {
	struct device_conf conf;
	uint64_t size;
	unsigned blksize, flags;
	bool from_config;
	char tls_used[16];
	unsigned seen;		/* of the keys every record has */
};

/* The keys every record has (negotiate-timeout, tls-mode and tls are
 * newer: optional). */
#define RECORD_KEYS	10

static int number(const char *v, unsigned *out)
{
	uint64_t n;

	if (parse_uint(v, UINT32_MAX, &n) < 0)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* Undoes put_value in place; -1 for a bad or NUL escape. */
static int unescape(char *s)
{
	char *out = s;

	for (const char *p = s; *p; p++) {
		unsigned v;

		if (*p != '\\') {
			*out++ = *p;
			continue;
		}
		if (p[1] != 'x' || !isxdigit((unsigned char)p[2]) ||
		    !isxdigit((unsigned char)p[3]) || sscanf(p + 2, "%2x", &v) != 1 || !v)
			return -1;
		*out++ = (char)v;
		p += 3;
	}
	*out = '\0';
	return 0;
}

static int record_key(struct record *r, const char *key, const char *value)
{
	unsigned n = 0;
	int rc = 0;

	r->seen++;
	if (!strcmp(key, "spec"))
		rc = snprintf(r->conf.device, sizeof(r->conf.device), "%s", value) <
		     (int)sizeof(r->conf.device) ? 0 : -1;
	else if (!strcmp(key, "uri"))
		rc = (free(r->conf.uri), r->conf.uri = strdup(value)) ? 0 : -1;
	else if (!strcmp(key, "tls-mode"))
		rc = device_tls_mode_parse(value, &r->conf.tls_mode), r->seen--;
	else if (!strcmp(key, "tls"))
		snprintf(r->tls_used, sizeof(r->tls_used), "%s", value), r->seen--;
	else if (!strcmp(key, "size"))
		rc = parse_uint(value, UINT64_MAX, &r->size);
	else if (!strcmp(key, "export"))
		r->seen--;	/* an earlier run's: the URI names the export */
	else if ((rc = number(value, &n)) < 0)
		;
	else if (!strcmp(key, "connections"))
		r->conf.connections = n;
	else if (!strcmp(key, "readonly"))
		r->conf.readonly = n;
	else if (!strcmp(key, "timeout"))
		r->conf.timeout = n;
	else if (!strcmp(key, "dead-timeout"))
		r->conf.dead_timeout = n;
	else if (!strcmp(key, "negotiate-timeout") && n && n <= DEVICE_MAX_NEGOTIATE_TIMEOUT)
		r->conf.negotiate_timeout = n, r->seen--;
	else if (!strcmp(key, "negotiate-timeout"))
		rc = -1;
	else if (!strcmp(key, "blksize"))
		r->blksize = n;
	else if (!strcmp(key, "flags"))
		r->flags = n;
	else if (!strcmp(key, "from-config"))
		r->from_config = n;
	else
		r->seen--;	/* a later run's key */
	return rc;
}

/*
 * Reads a record: lines of any length (a URI is as long as the grammar
 * lets it be), "key = value", ';' comments. 0, or -1 with the reason.
 * Each key once: a record that repeats one was not written by us.
 */
static int read_record(const char *path, struct record *r, char *err, size_t errlen)
{
	char *line = NULL, *keys = NULL;
	size_t cap = 0, keyslen = 0;
	int lineno = 0, rc = -1;
	ssize_t len;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *eq, *k;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!line[0] || line[0] == ';' || line[0] == '#')
			continue;
		eq = strstr(line, " = ");
		if (!eq || eq == line || strchr(line, '\r')) {
			snprintf(err, errlen, "line %d is not 'key = value'", lineno);
			goto out;
		}
		*eq = '\0';
		/* " key " within the keys seen so far: a repeat. */
		if (keys && (k = strstr(keys, line)) && (k == keys || k[-1] == ' ') &&
		    k[strlen(line)] == ' ') {
			snprintf(err, errlen, "line %d repeats %s", lineno, line);
			goto out;
		}
		k = realloc(keys, keyslen + strlen(line) + 2);
		if (!k)
			goto nomem;
		keys = k;
		keyslen += sprintf(keys + keyslen, "%s ", line);
		if (unescape(eq + 3) < 0 || record_key(r, line, eq + 3) < 0) {
			snprintf(err, errlen, "line %d: bad value for %s", lineno, line);
			goto out;
		}
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	free(line);
	free(keys);
	fclose(f);
	return rc;
}

static struct device *adoptable(const char *name)
{
	struct record r = { .conf.binding = BINDING_NETLINK,
			    .conf.negotiate_timeout = DEVICE_DEFAULT_NEGOTIATE_TIMEOUT };
	char path[320], err[512] = "";
	struct device *d = NULL;

	record_path(name, path, sizeof(path));
	if (read_record(path, &r, err, sizeof(err)) < 0 || r.seen < RECORD_KEYS ||
	    !r.conf.uri || !device_spec_valid(r.conf.device) || !r.conf.connections ||
	    r.conf.connections > DEVICE_MAX_CONNECTIONS || !r.blksize) {
		log_warn("%s: not taking it over: %s is damaged%s%s", name, path,
			 err[0] ? ": " : "", err[0] ? err : "");
	} else if ((d = device_new(&r.conf, r.from_config, err, sizeof(err)))) {
		/* Whether the kernel still serves it so is the attach API's
		 * to find out (device_start_locked). d->export_name is the
		 * URI's (device_new): an earlier run may have recorded the
		 * server's NBD_INFO_NAME here. */
		snprintf(d->adopt_name, sizeof(d->adopt_name), "%s", name);
		d->was.size = r.size;
		d->was.block_size = r.blksize;
		d->was.flags = (uint16_t)r.flags;
		d->was.tls = !strcmp(r.tls_used, "relay") ? "relay" :
			     !strcmp(r.tls_used, "kernel") ? "kernel" : "off";
		d->adopting = true;
		d->once = false;	/* it was attached: it stays supervised */
	} else {
		log_warn("%s: not taking it over: %s", name, err);
	}
	free(r.conf.uri);
	if (!d)
		unlink(path);
	return d;
}

/* The records steer a root daemon: only a directory that root alone can
 * write is believed. */
static bool dir_trusted(void)
{
	struct stat st;

	if (lstat(state_dir, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022))
		return true;
	log_warn("%s is not a directory that only root can write: no device taken over",
		 state_dir);
	return false;
}

size_t device_state_load(struct device ***out)
{
	struct device **v = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *dir;

	*out = NULL;
	if (!dir_trusted() || !(dir = opendir(state_dir)))
		return 0;
	while ((e = readdir(dir))) {
		struct device **grown, *d;

		if (!nbd_name_valid(e->d_name) || !(d = adoptable(e->d_name)))
			continue;
		grown = realloc(v, (n + 1) * sizeof(*v));
		if (!grown) {
			pthread_mutex_lock(&device_lock);
			device_put_locked(d);
			pthread_mutex_unlock(&device_lock);
			continue;
		}
		v = grown;
		v[n++] = d;
	}
	closedir(dir);
	*out = v;
	return n;
}
