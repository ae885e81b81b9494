/* SPDX-License-Identifier: MIT */
/*
 * rbd: export a Ceph RBD image (or a snapshot of one) through librbd.
 *
 * The master only checks the parameters and reads ceph.conf and the key
 * into memory (rbd_params.c). Each worker connects to the cluster on its
 * own, after the privilege drop (rbd_connect.c), because librados starts
 * threads that would not survive a fork.
 *
 * Every data call submits one rbd_aio_* request and waits for its
 * completion. The server runs several calls of one connection at once
 * (CNBD_BACKEND_PARALLEL), so several requests are in flight in librbd
 * together, as the kernel's queue depth expects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rbd.h"

static void *rbd_backend_open_export(const struct cnbd_param *params,
				     size_t nparams)
{
	return rbd_export_new(params, nparams);
}

static void rbd_backend_close_export(void *handle)
{
	rbd_export_free(handle);
}

static void *rbd_backend_open_conn(void *handle, bool readonly)
{
	struct rbd_export *exp = handle;
	struct rbd_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->exp = exp;
	/* A snapshot cannot be written: librbd would say EROFS to every
	 * write, so the export is advertised read-only instead. */
	c->readonly = readonly || exp->snap;
	if (rbd_conn_open(c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void rbd_backend_close_conn(void *conn)
{
	struct rbd_conn *c = conn;

	/* rbd_close waits for requests still in flight. */
	rbd_conn_close(c);
	free(c);
}

static int rbd_backend_can_write(void *conn)
{
	return !((struct rbd_conn *)conn)->readonly;
}

static int64_t rbd_backend_get_size(void *conn)
{
	struct rbd_conn *c = conn;
	uint64_t size;
	int r;

	r = rbd_get_size(c->image, &size);
	if (r < 0) {
		cnbd_error("rbd: cannot get the size of %s: %s", c->exp->image,
			   strerror(-r));
		errno = -r;
		return -1;
	}
	return (int64_t)size;
}

static int new_completion(rbd_completion_t *comp)
{
	int r = rbd_aio_create_completion(NULL, NULL, comp);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

/* Waits for a request that was submitted with result r (0, or a negative
 * errno when librbd refused it at once) and releases its completion.
 * Returns the request's result: >= 0, or -1 with errno set. */
static ssize_t finish(struct rbd_conn *c, rbd_completion_t comp, int r,
		      const char *what, uint64_t count, uint64_t offset)
{
	ssize_t ret = r;

	if (r == 0) {
		rbd_aio_wait_for_complete(comp);
		ret = rbd_aio_get_return_value(comp);
	}
	rbd_aio_release(comp);
	if (ret >= 0)
		return ret;
	/* EROFS is the read-only case the client already knows about. */
	if (ret != -EROFS)
		cnbd_error("rbd: %s of %llu bytes at %llu in %s: %s", what,
			   (unsigned long long)count, (unsigned long long)offset,
			   c->exp->image, strerror((int)-ret));
	errno = (int)-ret;
	return -1;
}

static int rbd_backend_pread(void *conn, void *buf, uint32_t count,
			     uint64_t offset, uint32_t flags)
{
	struct rbd_conn *c = conn;
	rbd_completion_t comp;
	ssize_t n;

	(void)flags;
	if (new_completion(&comp) < 0)
		return -1;
	n = finish(c, comp, rbd_aio_read(c->image, offset, count, buf, comp),
		   "read", count, offset);
	if (n < 0)
		return -1;
	if ((size_t)n != count) {
		/* The image shrank after the size was announced. */
		cnbd_error("rbd: read past the end of %s at %llu", c->exp->image,
			   (unsigned long long)offset);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The server sends no writes to a read-only export; refuse them anyway
 * rather than rely on that. */
static int check_writable(const struct rbd_conn *c)
{
	if (c->readonly) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int rbd_backend_pwrite(void *conn, const void *buf, uint32_t count,
			      uint64_t offset, uint32_t flags)
{
	struct rbd_conn *c = conn;
	rbd_completion_t comp;

	(void)flags;	/* FUA: the server follows with a flush */
	if (check_writable(c) < 0 || new_completion(&comp) < 0)
		return -1;
	return finish(c, comp,
		      rbd_aio_write(c->image, offset, count, buf, comp),
		      "write", count, offset) < 0 ? -1 : 0;
}

static int rbd_backend_flush(void *conn, uint32_t flags)
{
	struct rbd_conn *c = conn;
	rbd_completion_t comp;

	(void)flags;
	if (new_completion(&comp) < 0)
		return -1;
	return finish(c, comp, rbd_aio_flush(c->image, comp), "flush", 0, 0) < 0 ?
	       -1 : 0;
}

static int rbd_backend_trim(void *conn, uint32_t count, uint64_t offset,
			    uint32_t flags)
{
	struct rbd_conn *c = conn;
	rbd_completion_t comp;

	(void)flags;
	if (check_writable(c) < 0 || new_completion(&comp) < 0)
		return -1;
	return finish(c, comp, rbd_aio_discard(c->image, offset, count, comp),
		      "discard", count, offset) < 0 ? -1 : 0;
}

#if LIBRBD_SUPPORTS_WRITE_ZEROES
/* librbd zeroes by discarding whole objects and zeroing inside partial
 * ones: metadata work on the OSDs, no data on the wire, so FAST_ZERO is
 * honoured. With NO_HOLE (no CNBD_MAY_TRIM) the zeros must stay
 * allocated: THICK_PROVISION writes them, which is not fast. */
static int rbd_backend_zero(void *conn, uint32_t count, uint64_t offset,
			    uint32_t flags)
{
	struct rbd_conn *c = conn;
	rbd_completion_t comp;
	int zflags = 0;

	if (check_writable(c) < 0)
		return -1;
	if (!(flags & CNBD_MAY_TRIM)) {
		if (flags & CNBD_FAST_ZERO) {
			errno = ENOTSUP;
			return -1;
		}
		zflags = RBD_WRITE_ZEROES_FLAG_THICK_PROVISION;
	}
	if (new_completion(&comp) < 0)
		return -1;
	return finish(c, comp,
		      rbd_aio_write_zeroes(c->image, offset, count, comp,
					   zflags, 0),
		      "write-zeroes", count, offset) < 0 ? -1 : 0;
}
#define RBD_ZERO	rbd_backend_zero
#else
/* An older librbd: the server writes zeros with pwrite. */
#define RBD_ZERO	NULL
#endif

static const struct cnbd_backend rbd_backend = {
	CNBD_BACKEND_HEADER,
	.name = "rbd",
	.version = CNBD_VERSION,
	.description = "a Ceph RBD image or snapshot, through librbd",
	.params_help =
		"image=NAME        the RBD image (required)\n"
		"pool=NAME         its pool (default rbd)\n"
		"namespace=NAME    its RADOS namespace (default: none)\n"
		"snapshot=NAME     export this snapshot, read-only\n"
		"conf=FILE         ceph.conf (default /etc/ceph/ceph.conf)\n"
		"id=NAME           the Ceph user, client.NAME (default admin)\n"
		"keyring=FILE      its keyring (default: Ceph's places in /etc/ceph)\n"
		"timeout=SECONDS   to reach the monitors (default 10)\n"
		"osd-timeout=SECONDS  per OSD request (default 0: wait)",
	/* Each call waits on its own aio completion; librbd is thread-safe.
	 * MULTI_CONN: the cache is off (rbd_connect.c), so what a worker
	 * wrote is on the OSDs for every other worker to read. */
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN |
		 CNBD_BACKEND_NEEDS_NETWORK,
	.open_export = rbd_backend_open_export,
	.close_export = rbd_backend_close_export,
	.open_conn = rbd_backend_open_conn,
	.close_conn = rbd_backend_close_conn,
	.get_size = rbd_backend_get_size,
	.pread = rbd_backend_pread,
	.pwrite = rbd_backend_pwrite,
	.flush = rbd_backend_flush,
	.trim = rbd_backend_trim,
	.zero = RBD_ZERO,
	.extents = rbd_backend_extents,
	.can_write = rbd_backend_can_write,
	.export_pack = rbd_export_pack,
	.export_unpack = rbd_export_unpack,
};

CNBD_BACKEND_REGISTER(rbd_backend)
