/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device_state.h"
#include "ini_lines.h"
#include "log.h"
#include "netlink_cmds.h"
#include "parse.h"
#include "sysfs_nbd.h"

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

void device_state_save(struct device *d)
{
	char path[320], tmp[340];
	FILE *f;

	pthread_mutex_lock(&device_lock);
	record_path(d->name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	f = fopen(tmp, "we");
	if (!f)
		goto fail;
	fprintf(f, "; nbd-clientd: %s as it was attached, for a restarted daemon to take over\n"
		"spec = %s\nuri = %s\nconnections = %u\nreadonly = %d\ntimeout = %u\n"
		"dead-timeout = %u\nsize = %" PRIu64 "\nblksize = %u\nflags = %u\n"
		"export = %s\nfrom-config = %d\ntls-mode = %s\ntls = %s\n",
		d->name, d->spec, d->uri_text, d->connections, d->readonly, d->timeout,
		d->dead_timeout, d->size, d->blksize, d->flags, d->export_name, d->from_config,
		device_tls_mode_name(d->tls_mode), d->tls_used);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		goto fail;
	pthread_mutex_unlock(&device_lock);
	return;
fail:
	log_warn("%s: cannot record it in %s (a restarted daemon will not take it over): %s",
		 d->name, path, strerror(errno));
	unlink(tmp);
	pthread_mutex_unlock(&device_lock);
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
	char export_name[256];
	char tls_used[16];
	unsigned seen;
};

static int number(const char *v, unsigned *out)
{
	uint64_t n;

	if (parse_uint(v, UINT32_MAX, &n) < 0)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* inih's convention: 0 stops with an error. */
static int record_key(void *user, const char *section, const char *key,
		      const char *value, char *err, size_t errlen)
{
	struct record *r = user;
	unsigned n = 0;
	int rc = 0;

	(void)section;
	r->seen++;
	if (!strcmp(key, "spec"))
		snprintf(r->conf.device, sizeof(r->conf.device), "%s", value);
	else if (!strcmp(key, "uri"))
		rc = (free(r->conf.uri), r->conf.uri = strdup(value)) ? 0 : -1;
	else if (!strcmp(key, "export"))
		snprintf(r->export_name, sizeof(r->export_name), "%s", value);
	else if (!strcmp(key, "tls-mode"))
		rc = device_tls_mode_parse(value, &r->conf.tls_mode);
	else if (!strcmp(key, "tls"))
		snprintf(r->tls_used, sizeof(r->tls_used), "%s", value);
	else if (!strcmp(key, "size"))
		rc = parse_uint(value, UINT64_MAX, &r->size);
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
	else if (!strcmp(key, "blksize"))
		r->blksize = n;
	else if (!strcmp(key, "flags"))
		r->flags = n;
	else if (!strcmp(key, "from-config"))
		r->from_config = n;
	else
		r->seen--;
	if (rc < 0)
		snprintf(err, errlen, "bad value for %s", key);
	return rc == 0;
}

/* Whether the kernel still serves name with this record's identity. */
static bool still_attached(const char *name, const struct record *r, char *why, size_t len)
{
	char backend[512];
	bool connected = false;

	if (nbd_backend(name, backend, sizeof(backend)) < 0 || strcmp(backend, r->conf.uri)) {
		snprintf(why, len, "the kernel no longer has it attached to %s", r->conf.uri);
		return false;
	}
	if (nbd_nl_status((unsigned)strtoul(name + 3, NULL, 10), &connected, why, len) < 0)
		return false;
	if (!connected)
		snprintf(why, len, "the kernel no longer has it connected");
	return connected;
}

static struct device *adoptable(const char *name)
{
	struct record r = { .conf.binding = BINDING_NETLINK };
	char path[320], err[512];
	struct device *d = NULL;

	record_path(name, path, sizeof(path));
	if (ini_parse_lines(path, record_key, &r, err, sizeof(err)) < 0 || r.seen < 11 ||
	    !r.conf.uri || !device_spec_valid(r.conf.device) || !r.conf.connections ||
	    r.conf.connections > DEVICE_MAX_CONNECTIONS || !r.blksize) {
		log_warn("%s: not taking it over: %s is damaged%s%s", name, path,
			 err[0] ? ": " : "", err[0] ? err : "");
	} else if (!still_attached(name, &r, err, sizeof(err))) {
		log_info("%s: not taking it over: %s", name, err);
	} else if ((d = device_new(&r.conf, r.from_config, err, sizeof(err)))) {
		snprintf(d->name, sizeof(d->name), "%s", name);
		d->size = r.size;
		d->blksize = r.blksize;
		d->flags = (uint16_t)r.flags;
		snprintf(d->export_name, sizeof(d->export_name), "%s", r.export_name);
		d->adopting = true;
		d->once = false;	/* it was attached: it stays supervised */
		/* A relay died with the daemon that ran it. */
		if (!strcmp(r.tls_used, "relay"))
			d->tls_used = "relay";
		else if (!strcmp(r.tls_used, "kernel"))
			d->tls_used = "kernel";
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
