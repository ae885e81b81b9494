/* SPDX-License-Identifier: MIT */
/*
 * rbd: the export phase, in the master, as root.
 *
 * Parameters are checked here, so that a typo fails the configuration
 * and not the first client. ceph.conf and the keyring are read into
 * memory here too: the worker runs as an unprivileged user that must
 * not be able to read a root-only keyring, yet needs the secret to
 * authenticate. It inherits the copy across fork instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rbd.h"

#define DEFAULT_CONF		"/etc/ceph/ceph.conf"
#define DEFAULT_TIMEOUT		10
#define MAX_TIMEOUT		86400
/* A ceph.conf or keyring larger than this is not one. */
#define MAX_FILE		(1 << 20)

static const char known[] = "pool, image, namespace, snapshot, conf, id, "
			    "keyring, timeout, osd-timeout";

/* Reads a whole (small) file; the text is NUL-terminated. */
static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto fail;
	}
	buf = malloc(st.st_size + 1);
	if (!buf)
		goto fail;
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;		/* shrank while we read: take what is there */
		got += n;
	}
	buf[got] = '\0';
	close(fd);
	if (len)
		*len = got;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

static int set_string(char **field, const char *key, const char *value)
{
	if (!*value) {
		cnbd_error("rbd: '%s' must not be empty", key);
		errno = EINVAL;
		return -1;
	}
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -1;
}

static int set_seconds(unsigned *field, const char *key, const char *value,
		       unsigned min)
{
	char what[32];
	int64_t v;

	snprintf(what, sizeof(what), "rbd: %s", key);
	v = cnbd_parse_size(what, value);
	if (v < 0)
		return -1;
	if (v < min || v > MAX_TIMEOUT) {
		cnbd_error("rbd: %s must be %u to %d seconds", key, min,
			   MAX_TIMEOUT);
		errno = EINVAL;
		return -1;
	}
	*field = (unsigned)v;
	return 0;
}

static int parse_one(struct rbd_export *exp, const char *key,
		     const char *value)
{
	if (!strcmp(key, "pool"))
		return set_string(&exp->pool, key, value);
	if (!strcmp(key, "image"))
		return set_string(&exp->image, key, value);
	if (!strcmp(key, "namespace"))
		return set_string(&exp->nspace, key, value);
	if (!strcmp(key, "snapshot"))
		return set_string(&exp->snap, key, value);
	if (!strcmp(key, "conf"))
		return set_string(&exp->conf_path, key, value);
	if (!strcmp(key, "keyring"))
		return set_string(&exp->keyring_path, key, value);
	if (!strcmp(key, "id")) {
		/* "client.admin" and "admin" name the same user. */
		if (!strncmp(value, "client.", 7))
			value += 7;
		return set_string(&exp->id, key, value);
	}
	if (!strcmp(key, "timeout"))
		return set_seconds(&exp->timeout, key, value, 1);
	if (!strcmp(key, "osd-timeout"))
		return set_seconds(&exp->osd_timeout, key, value, 0);
	cnbd_error("rbd: unknown parameter '%s' (known: %s)", key, known);
	errno = EINVAL;
	return -1;
}

static int parse_params(struct rbd_export *exp,
			const struct cnbd_param *params, size_t nparams)
{
	exp->timeout = DEFAULT_TIMEOUT;
	for (size_t i = 0; i < nparams; i++)
		if (parse_one(exp, params[i].key, params[i].value) < 0)
			return -1;
	if (!exp->image) {
		cnbd_error("rbd: the parameter 'image' is required");
		errno = EINVAL;
		return -1;
	}
	/* The defaults of the rbd command line tool. */
	if (!exp->pool && !(exp->pool = strdup("rbd")))
		return -1;
	if (!exp->id && !(exp->id = strdup("admin")))
		return -1;
	if (!exp->conf_path && !(exp->conf_path = strdup(DEFAULT_CONF)))
		return -1;
	return 0;
}

static int read_conf(struct rbd_export *exp)
{
	exp->conf_text = read_file(exp->conf_path, &exp->conf_len);
	if (!exp->conf_text) {
		cnbd_error("rbd: cannot read the Ceph configuration %s: %s",
			   exp->conf_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Without keyring=, look where Ceph itself looks by default; finding
 * nothing there is fine (a cluster with auth none, or a key in
 * ceph.conf). A keyring that was named must exist and hold the key. */
static int find_keyring(struct rbd_export *exp)
{
	char path[3][256];
	size_t i;

	if (exp->keyring_path)
		return 0;
	snprintf(path[0], sizeof(path[0]), "/etc/ceph/ceph.client.%s.keyring",
		 exp->id);
	snprintf(path[1], sizeof(path[1]), "/etc/ceph/ceph.keyring");
	snprintf(path[2], sizeof(path[2]), "/etc/ceph/keyring");
	for (i = 0; i < 3; i++) {
		if (access(path[i], F_OK) == 0) {
			exp->keyring_path = strdup(path[i]);
			return exp->keyring_path ? 0 : -1;
		}
	}
	cnbd_debug("rbd: no keyring given or found in /etc/ceph: connecting as client.%s without a key",
		   exp->id);
	return 0;
}

static int read_key(struct rbd_export *exp)
{
	char entity[256];
	size_t len = 0;
	char *text;

	if (find_keyring(exp) < 0)
		return -1;
	if (!exp->keyring_path)
		return 0;
	text = read_file(exp->keyring_path, &len);
	if (!text) {
		cnbd_error("rbd: cannot read the keyring %s: %s",
			   exp->keyring_path, strerror(errno));
		return -1;
	}
	snprintf(entity, sizeof(entity), "client.%s", exp->id);
	exp->key = rbd_keyring_find(text, entity);
	explicit_bzero(text, len);
	free(text);
	if (!exp->key) {
		cnbd_error("rbd: the keyring %s holds no key for %s",
			   exp->keyring_path, entity);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void rbd_export_free(struct rbd_export *exp)
{
	int saved = errno;

	if (!exp)
		return;
	free(exp->pool);
	free(exp->image);
	free(exp->nspace);
	free(exp->snap);
	free(exp->id);
	free(exp->conf_path);
	free(exp->conf_text);
	free(exp->keyring_path);
	if (exp->key) {
		explicit_bzero(exp->key, strlen(exp->key));
		free(exp->key);
	}
	free(exp);
	errno = saved;
}

struct rbd_export *rbd_export_new(const struct cnbd_param *params,
				  size_t nparams)
{
	struct rbd_export *exp = calloc(1, sizeof(*exp));

	if (!exp)
		return NULL;
	if (parse_params(exp, params, nparams) < 0 || read_conf(exp) < 0 ||
	    read_key(exp) < 0) {
		rbd_export_free(exp);
		return NULL;
	}
	return exp;
}
