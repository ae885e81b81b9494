/* SPDX-License-Identifier: MIT */
/*
 * rbd: the connection phase, in the worker, after the privilege drop.
 *
 * Each worker is its own Ceph client: librados starts its threads here,
 * after the fork, where they live as long as the connection. Nothing in
 * here may need root: ceph.conf and the key come from the master's
 * in-memory copies, never from files the worker cannot read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rbd.h"

static int fail(int r)
{
	errno = -r;
	return -1;
}

static int conf_set(struct rbd_conn *c, const char *option, const char *value)
{
	int r = rados_conf_set(c->cluster, option, value);

	if (r < 0) {
		cnbd_error("rbd: cannot set the Ceph option %s: %s", option,
			   strerror(-r));
		return fail(r);
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* librados reads configuration only from a path. The master's copy of
 * ceph.conf goes into a memfd, read back through /proc/self/fd: the
 * kernel lets a process open its own descriptors there whoever owns the
 * original file, and the text never touches a disk. */
static int load_conf(struct rbd_conn *c)
{
	const struct rbd_export *exp = c->exp;
	char path[64];
	int fd, r;

	fd = memfd_create("cnbd-rbd-ceph.conf", MFD_CLOEXEC);
	if (fd < 0) {
		cnbd_error("rbd: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (write_all(fd, exp->conf_text, exp->conf_len) < 0) {
		cnbd_error("rbd: cannot copy %s into a memfd: %s",
			   exp->conf_path, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = rados_conf_read_file(c->cluster, path);
	close(fd);
	if (r < 0) {
		cnbd_error("rbd: cannot use the Ceph configuration %s (read by the master, through %s): %s",
			   exp->conf_path, path, strerror(-r));
		return fail(r);
	}
	return 0;
}

static int set_seconds(struct rbd_conn *c, const char *option, unsigned s)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", s);
	return conf_set(c, option, v);
}

/* Our settings win over ceph.conf: they are what the backend's promises
 * (CAN_MULTI_CONN, a dead cluster failing fast) rest on. */
static int override_conf(struct rbd_conn *c)
{
	const struct rbd_export *exp = c->exp;

	if (exp->key) {
		/* The secret from the master; no keyring file is opened. */
		if (conf_set(c, "key", exp->key) < 0 ||
		    conf_set(c, "keyring", "") < 0)
			return -1;
	}
	/* Without a cache every completed write is on the OSDs, where every
	 * other client (another worker) reads it: this is what makes
	 * CNBD_BACKEND_MULTI_CONN true. See docs/rbd.md. */
	if (conf_set(c, "rbd_cache", "false") < 0)
		return -1;
	/* Discard the unaligned ends of a trim too (by zeroing them), so a
	 * trimmed range always reads back as zeros. */
	if (conf_set(c, "rbd_skip_partial_discard", "false") < 0)
		return -1;
	/* One admin socket per connection would only litter run_dir, which
	 * the unprivileged worker usually cannot write anyway; the same for
	 * a log file named in ceph.conf. Errors still reach stderr, which is
	 * the server's log. */
	if (conf_set(c, "admin_socket", "") < 0 ||
	    conf_set(c, "log_file", "") < 0)
		return -1;
	/* A dead cluster must fail a new client in seconds, not after the
	 * default five minutes. */
	if (set_seconds(c, "client_mount_timeout", exp->timeout) < 0 ||
	    set_seconds(c, "rados_mon_op_timeout", exp->timeout) < 0)
		return -1;
	if (exp->osd_timeout &&
	    set_seconds(c, "rados_osd_op_timeout", exp->osd_timeout) < 0)
		return -1;
	return 0;
}

static int connect_cluster(struct rbd_conn *c)
{
	const struct rbd_export *exp = c->exp;
	char name[256];
	int r;

	snprintf(name, sizeof(name), "client.%s", exp->id);
	r = rados_create2(&c->cluster, "ceph", name, 0);
	if (r < 0) {
		c->cluster = NULL;
		cnbd_error("rbd: rados_create2(%s): %s", name, strerror(-r));
		return fail(r);
	}
	if (load_conf(c) < 0 || override_conf(c) < 0)
		return -1;
	r = rados_connect(c->cluster);
	if (r < 0) {
		cnbd_error("rbd: cannot connect to the Ceph cluster of %s as %s within %u s: %s",
			   exp->conf_path, name, exp->timeout, strerror(-r));
		return fail(r);
	}
	return 0;
}

static int open_pool(struct rbd_conn *c)
{
	const struct rbd_export *exp = c->exp;
	int r;

	r = rados_ioctx_create(c->cluster, exp->pool, &c->io);
	if (r < 0) {
		c->io = NULL;
		cnbd_error("rbd: cannot open the pool '%s': %s", exp->pool,
			   r == -ENOENT ? "no such pool" : strerror(-r));
		return fail(r);
	}
	if (exp->nspace)
		rados_ioctx_set_namespace(c->io, exp->nspace);
	return 0;
}

static int open_image(struct rbd_conn *c)
{
	const struct rbd_export *exp = c->exp;
	int r;

	/* Read-only opens take no watch and no lock: a snapshot export
	 * never disturbs the image's writer. */
	if (c->readonly)
		r = rbd_open_read_only(c->io, exp->image, &c->image, exp->snap);
	else
		r = rbd_open(c->io, exp->image, &c->image, NULL);
	if (r < 0) {
		c->image = NULL;
		cnbd_error("rbd: cannot open the image %s/%s%s%s%s%s: %s",
			   exp->pool, exp->nspace ? exp->nspace : "",
			   exp->nspace ? "/" : "", exp->image,
			   exp->snap ? "@" : "", exp->snap ? exp->snap : "",
			   r == -ENOENT ? "no such image or snapshot" : strerror(-r));
		return fail(r);
	}
	return 0;
}

int rbd_conn_open(struct rbd_conn *c)
{
	if (connect_cluster(c) < 0 || open_pool(c) < 0 || open_image(c) < 0) {
		rbd_conn_close(c);
		return -1;
	}
	return 0;
}

void rbd_conn_close(struct rbd_conn *c)
{
	int saved = errno;

	if (c->image)
		rbd_close(c->image);
	if (c->io)
		rados_ioctx_destroy(c->io);
	if (c->cluster)
		rados_shutdown(c->cluster);
	c->image = NULL;
	c->io = NULL;
	c->cluster = NULL;
	errno = saved;
}
