/* SPDX-License-Identifier: MIT */
/*
 * null: reads zeros, discards writes. The floor for benchmarks: every call
 * does as little as a call can, so what is measured is the server.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cnbd/backend.h"

#define DEFAULT_SIZE	(1LL << 30)

/* The export handle is the size itself, boxed: no state beyond it. */
static void *null_open_export(const struct cnbd_param *params, size_t nparams)
{
	int64_t *size = malloc(sizeof(*size));

	if (!size)
		return NULL;
	*size = DEFAULT_SIZE;
	for (size_t i = 0; i < nparams; i++) {
		if (strcmp(params[i].key, "size")) {
			cnbd_error("null: unknown parameter '%s' (known: size)",
				   params[i].key);
			errno = EINVAL;
			goto fail;
		}
		*size = cnbd_parse_size("null: size", params[i].value);
		if (*size < 0)
			goto fail;
	}
	return size;

fail:
	free(size);
	return NULL;
}

static void null_close_export(void *handle)
{
	free(handle);
}

static int null_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	(void)readonly;
	return cnbd_pack_bytes(pack, handle, sizeof(int64_t));
}

static void *null_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	int64_t *size = malloc(sizeof(*size));

	(void)readonly;
	if (size && cnbd_unpack_bytes(pack, size, sizeof(*size)) < 0) {
		free(size);
		return NULL;
	}
	return size;
}

static int64_t null_get_size(void *conn)
{
	return *(int64_t *)conn;
}

static int null_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
		      uint32_t flags)
{
	(void)conn;
	(void)offset;
	(void)flags;
	memset(buf, 0, count);
	return 0;
}

static int null_pwrite(void *conn, const void *buf, uint32_t count,
		       uint64_t offset, uint32_t flags)
{
	(void)conn;
	(void)buf;
	(void)count;
	(void)offset;
	(void)flags;
	return 0;
}

static int null_flush(void *conn, uint32_t flags)
{
	(void)conn;
	(void)flags;
	return 0;
}

/* trim, zero and cache: nothing to do, and nothing faster to do it with,
 * so FAST_ZERO is always satisfied. */
static int null_nop(void *conn, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	(void)conn;
	(void)count;
	(void)offset;
	(void)flags;
	return 0;
}

static int null_extents(void *conn, uint32_t count, uint64_t offset,
			uint32_t flags, struct cnbd_extents *extents)
{
	(void)conn;
	(void)flags;
	return cnbd_add_extent(extents, offset, count,
			       CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO);
}

static const struct cnbd_backend null_backend = {
	CNBD_BACKEND_HEADER,
	.name = "null",
	.version = CNBD_VERSION,
	.description = "reads zeros and discards writes (a benchmark floor)",
	.params_help = "size=SIZE  the disk size, e.g. 100G (default 1G)",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN |
		 CNBD_BACKEND_NONBLOCKING |
		 CNBD_BACKEND_NATIVE_FUA,
	.open_export = null_open_export,
	.close_export = null_close_export,
	.export_pack = null_export_pack,
	.export_unpack = null_export_unpack,
	.get_size = null_get_size,
	.pread = null_pread,
	.pwrite = null_pwrite,
	.flush = null_flush,
	.trim = null_nop,
	.zero = null_nop,
	.cache = null_nop,
	.extents = null_extents,
};

CNBD_BACKEND_REGISTER(null_backend)
