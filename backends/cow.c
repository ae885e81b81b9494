/* SPDX-License-Identifier: MIT */
/*
 * cow: a copy-on-write layer (cow.h has the design).
 *
 *   [golden]
 *   backend = cow
 *   base = file
 *   path = /srv/golden.img               ; the base's key
 *   overlay = /var/lib/cnbd/golden.cow   ; persistent; without it, per connection
 *
 * This file: parameters, the export in the master and in a worker, and
 * the flags. The data calls are in cow_io.c, the map in cow_map.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pack_fd.h"
#include "cow.h"

static const char *const cow_keys[] = { "overlay", "block-size", "temp-dir", NULL };

static int set_path(char **dst, const char *key, const char *value)
{
	if (value[0] != '/') {
		cnbd_error("cow: %s: '%s' is not an absolute path", key, value);
		errno = EINVAL;
		return -1;
	}
	free(*dst);
	*dst = strdup(value);
	return *dst ? 0 : -1;
}

static int set_block_size(struct cow_export *x, const char *value)
{
	int64_t n = cnbd_parse_size("cow: block-size", value);

	if (n < 0)
		return -1;
	if (n < COW_MIN_BLOCK || n > COW_MAX_BLOCK || (n & (n - 1))) {
		cnbd_error("cow: block-size: %s is not a power of 2 from 4K to 1M", value);
		errno = EINVAL;
		return -1;
	}
	x->block_size_asked = (uint32_t)n;
	return 0;
}

static int parse(struct cow_export *x, const struct cnbd_param *params, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = params[i].key, *v = params[i].value;
		int rc;

		if (!strcmp(k, "overlay"))
			rc = set_path(&x->overlay_path, k, v);
		else if (!strcmp(k, "temp-dir"))
			rc = set_path(&x->temp_dir, k, v);
		else if (!strcmp(k, "block-size"))
			rc = set_block_size(x, v);
		else {
			cnbd_error("cow: unknown parameter '%s' (known: overlay, block-size, temp-dir)",
				   k);
			errno = EINVAL;
			rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	if (x->overlay_path && x->temp_dir) {
		cnbd_error("cow: temp-dir is for per-connection overlays, and overlay = %s is one overlay for all",
			   x->overlay_path);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static struct cow_export *cow_new(void)
{
	struct cow_export *x = calloc(1, sizeof(*x));

	if (x) {
		x->fd = -1;
		x->shared_fd = -1;
	}
	return x;
}

static void cow_close_export(void *handle)
{
	struct cow_export *x = handle;
	int saved = errno;

	if (!x)
		return;
	cow_shared_free(x);
	if (x->fd >= 0)
		close(x->fd);
	free(x->overlay_path);
	free(x->temp_dir);
	free(x);
	errno = saved;
}

static int64_t base_size(struct cnbd_below *below)
{
	struct cnbd_next *next = cnbd_below_open(below, true);
	int64_t size;

	if (!next) {
		cnbd_error("cow: cannot open the base: %s", strerror(errno));
		return -1;
	}
	size = cnbd_next_get_size(next);
	cnbd_below_close(next);
	if (size <= 0)
		cnbd_error("cow: the base %s", size ? "cannot tell its size" : "is empty");
	return size;
}

/* A per-connection overlay is made at each GO: try one now, so that a
 * temp-dir that cannot hold one stops the configuration, not a client. */
static int try_temp(const struct cow_export *x)
{
	int fd = cow_overlay_temp(x);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void *cow_open_layer(struct cnbd_below *below, const struct cnbd_param *params,
			    size_t n)
{
	struct cow_export *x = cow_new();
	int64_t size;

	if (!x)
		return NULL;
	x->below = below;
	if (parse(x, params, n) < 0 || (size = base_size(below)) <= 0)
		goto fail;
	cow_geometry(&x->g, (uint64_t)size,
		     x->block_size_asked ? x->block_size_asked : COW_DEFAULT_BLOCK,
		     x->overlay_path != NULL);
	if (x->overlay_path ? cow_overlay_open(x) < 0 || cow_shared_create(x) < 0
			    : try_temp(x) < 0)
		goto fail;
	return x;
fail:
	if (!errno)
		errno = EINVAL;
	cow_close_export(x);
	return NULL;
}

/* The geometry, then: persistent, the overlay and the live map (both
 * read-only for a read-only export); per connection, a fresh overlay. */
static int cow_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct cow_export *x = handle;
	int fd, rc;

	if (cnbd_pack_bytes(pack, &x->g, sizeof(x->g)) < 0)
		return -1;
	if (x->g.persistent)
		return pack_storage_fd(pack, x->fd, readonly) < 0 ||
		       pack_storage_fd(pack, x->shared_fd, readonly) < 0 ? -1 : 0;
	fd = cow_overlay_temp(x);
	if (fd < 0)
		return -1;
	rc = cnbd_pack_fd(pack, fd);
	close(fd);
	return rc;
}

static bool sane(const struct cow_geom *g)
{
	uint32_t bs = g->block_size;

	return bs >= COW_MIN_BLOCK && bs <= COW_MAX_BLOCK && !(bs & (bs - 1)) && g->size &&
	       g->nblocks == (g->size + bs - 1) / bs;
}

static void *cow_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct cow_export *x = cow_new();
	int shared;

	if (!x)
		return NULL;
	x->readonly = readonly;
	if (cnbd_unpack_bytes(pack, &x->g, sizeof(x->g)) < 0 || !sane(&x->g) ||
	    (x->fd = cnbd_unpack_fd(pack)) < 0)
		goto fail;
	if (x->g.persistent) {
		shared = cnbd_unpack_fd(pack);
		if (shared < 0 || cow_shared_attach(x, shared, readonly) < 0)
			goto fail;
	} else if (cow_shared_create(x) < 0) {
		goto fail;
	}
	return x;
fail:
	cow_close_export(x);
	errno = EINVAL;
	return NULL;
}

static void *cow_open_conn(void *handle, struct cnbd_next *next, bool readonly)
{
	struct cow_conn *c = calloc(1, sizeof(*c));

	(void)readonly;
	if (!c)
		return NULL;
	c->x = handle;
	c->next = next;
	return c;
}

static void cow_close_conn(void *conn)
{
	free(conn);
}

/* Several connections share one persistent overlay (and its map), so
 * what one flushes the others read: CAN_MULTI_CONN, where the base is
 * the same for all of them. Per-connection overlays share nothing. */
static uint32_t cow_export_flags(void *handle, uint32_t below)
{
	const struct cow_export *x = handle;
	uint32_t f = CNBD_BACKEND_PARALLEL | (below & CNBD_BACKEND_ROTATIONAL);

	if (x->g.persistent)
		f |= below & CNBD_BACKEND_MULTI_CONN;
	return f;
}

static const struct cnbd_backend cow = {
	CNBD_BACKEND_HEADER,
	.name = "cow",
	.version = "1.0",
	.description = "a copy-on-write overlay over its base: one kept in a file, or one per connection",
	.params_help =
		"base=NAME          the layer below, read-only (required)\n"
		"overlay=FILE       one overlay for every connection, kept across restarts\n"
		"                   (made if missing); without it each connection gets its own,\n"
		"                   discarded when it ends\n"
		"block-size=SIZE    the unit of copy-up, 4K to 1M (default 64K)\n"
		"temp-dir=DIR       per-connection overlays are unlinked files here\n"
		"                   (default: memory)\n"
		"anything else      for the levels below",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_BASE_READONLY,
	.close_export = cow_close_export,
	.close_conn = cow_close_conn,
	.pread = cow_pread,
	.pwrite = cow_pwrite,
	.flush = cow_flush,
	.trim = cow_trim,
	.zero = cow_zero,
	.extents = cow_extents,
	.export_pack = cow_export_pack,
	.export_unpack = cow_export_unpack,
	.layer_params = cow_keys,
	.open_layer = cow_open_layer,
	.open_layer_conn = cow_open_conn,
	.export_flags = cow_export_flags,
	.export_command = cow_command,
};

CNBD_LAYER_REGISTER(cow)
