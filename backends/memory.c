/* SPDX-License-Identifier: MIT */
/*
 * memory: a sparse RAM disk shared by every connection to the export.
 *
 * The master makes a memfd before any worker is forked, so every worker
 * reads and writes the same pages through it and a client that
 * reconnects finds its data. Pages are only allocated when written, and
 * trimming or zeroing punches them out again. No mapping: see
 * memory_pread and memory_pwrite for why the file calls win.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cnbd/backend.h"
#include "common/pack_fd.h"
#include "common/pread_full.h"
#include "common/seek_extents.h"

#define DEFAULT_SIZE	(1LL << 30)

struct memory_export {
	int fd;			/* the memfd: every worker reads and writes it */
	int64_t size;
};

static int parse_params(struct memory_export *exp,
			const struct cnbd_param *params, size_t nparams)
{
	exp->size = DEFAULT_SIZE;
	for (size_t i = 0; i < nparams; i++) {
		if (strcmp(params[i].key, "size")) {
			cnbd_error("memory: unknown parameter '%s' (known: size)",
				   params[i].key);
			errno = EINVAL;
			return -1;
		}
		exp->size = cnbd_parse_size("memory: size", params[i].value);
		if (exp->size < 0)
			return -1;
	}
	return 0;
}

/* A memfd is not charged against memory limits until pages are touched
 * (shmem sets VM_NORESERVE for it), so a large sparse disk costs nothing
 * until it is written. */
static int make_storage(struct memory_export *exp)
{
	exp->fd = memfd_create("cnbd-memory", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (exp->fd < 0) {
		cnbd_error("memory: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(exp->fd, exp->size) < 0) {
		cnbd_error("memory: cannot size the disk to %lld bytes: %s",
			   (long long)exp->size, strerror(errno));
		return -1;
	}
	/* Every worker holds the memfd: a compromised one could shrink or
	 * grow the disk under the others. Sealing the size keeps a bad
	 * worker's harm to its own connection. Punching holes stays allowed. */
	if (fcntl(exp->fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		cnbd_error("memory: cannot seal the disk's size: %s",
			   strerror(errno));
		return -1;
	}
	return 0;
}

static void memory_close_export(void *handle)
{
	struct memory_export *exp = handle;
	int saved = errno;

	if (!exp)
		return;
	if (exp->fd >= 0)
		close(exp->fd);
	free(exp);
	errno = saved;
}

static void *memory_open_export(const struct cnbd_param *params,
				size_t nparams)
{
	struct memory_export *exp = calloc(1, sizeof(*exp));

	if (!exp)
		return NULL;
	exp->fd = -1;
	if (parse_params(exp, params, nparams) < 0 || make_storage(exp) < 0) {
		memory_close_export(exp);
		return NULL;
	}
	return exp;
}

/* The memfd, reopened read-only for a read-only export: pwrite and
 * hole punching then fail in the worker whatever it tries. */
static int memory_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct memory_export *exp = handle;

	if (pack_storage_fd(pack, exp->fd, readonly) < 0)
		return -1;
	return cnbd_pack_bytes(pack, &exp->size, sizeof(exp->size));
}

static void *memory_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct memory_export *exp = calloc(1, sizeof(*exp));

	(void)readonly;
	if (!exp)
		return NULL;
	exp->fd = cnbd_unpack_fd(pack);
	if (exp->fd < 0 || cnbd_unpack_bytes(pack, &exp->size, sizeof(exp->size)) < 0 ||
	    exp->size < 0) {
		memory_close_export(exp);
		errno = EINVAL;
		return NULL;
	}
	return exp;
}

static int64_t memory_get_size(void *conn)
{
	return ((struct memory_export *)conn)->size;
}

/* Reads go through pread(2), not a mapping: a read fault on a shared
 * tmpfs mapping allocates the page, which would fill a sparse disk with
 * zero pages just by reading it, while pread copies holes from the zero
 * page and allocates nothing. */
static int memory_pread(void *conn, void *buf, uint32_t count,
			uint64_t offset, uint32_t flags)
{
	struct memory_export *exp = conn;
	int rc = pread_full(exp->fd, buf, count, offset);

	(void)flags;
	if (rc > 0)
		errno = EINVAL;	/* past the end of the disk */
	return rc ? -1 : 0;
}

static bool in_range(struct memory_export *exp, uint32_t count,
		     uint64_t offset)
{
	return offset <= (uint64_t)exp->size &&
	       count <= (uint64_t)exp->size - offset;
}

/* The server sends large reads straight from the memfd (sendfile), which
 * reads holes from the zero page without allocating, as pread does. */
static int memory_read_fd(void *conn, uint32_t count, uint64_t offset,
			  int *fd, uint64_t *fd_offset)
{
	struct memory_export *exp = conn;

	if (!in_range(exp, count, offset))
		return -1;	/* pread says why */
	*fd = exp->fd;
	*fd_offset = offset;
	return 0;
}

/* Writes go through pwrite(2) too, not a mapping: every connection is a
 * freshly forked worker whose page tables would hold none of a mapping,
 * so a memcpy into one faults on every page a connection touches first,
 * while pwrite walks the page cache directly. */
static int memory_pwrite(void *conn, const void *buf, uint32_t count,
			 uint64_t offset, uint32_t flags)
{
	struct memory_export *exp = conn;
	const char *p = buf;
	ssize_t n;

	(void)flags;
	if (!in_range(exp, count, offset)) {
		errno = ENOSPC;
		return -1;
	}
	while (count) {
		n = pwrite(exp->fd, p, count, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		count -= n;
		offset += n;
	}
	return 0;
}

static int memory_flush(void *conn, uint32_t flags)
{
	(void)conn;
	(void)flags;
	return 0;	/* every write is already where every reader looks */
}

/* Punching frees the pages (for every worker at once) and the
 * range then reads as zeros: it serves trim and zero alike, and is fast,
 * so CNBD_FAST_ZERO is always satisfied. */
static int memory_punch(void *conn, uint32_t count, uint64_t offset,
			uint32_t flags)
{
	struct memory_export *exp = conn;
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	(void)flags;
	if (!in_range(exp, count, offset)) {
		errno = ENOSPC;
		return -1;
	}
	if (!count)
		return 0;
	return fallocate(exp->fd, mode, (off_t)offset, count);
}

/* Everything is already in memory: nothing to prefetch. */
static int memory_cache(void *conn, uint32_t count, uint64_t offset,
			uint32_t flags)
{
	(void)conn;
	(void)count;
	(void)offset;
	(void)flags;
	return 0;
}

static int memory_extents(void *conn, uint32_t count, uint64_t offset,
			  uint32_t flags, struct cnbd_extents *extents)
{
	struct memory_export *exp = conn;

	return seek_extents(exp->fd, offset, count, flags & CNBD_REQ_ONE,
			    extents);
}

static const struct cnbd_backend memory_backend = {
	CNBD_BACKEND_HEADER,
	.name = "memory",
	.version = CNBD_VERSION,
	.description = "a sparse RAM disk shared by all connections",
	.params_help = "size=SIZE  the disk size, e.g. 512M or 2G (default 1G)",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN |
		 CNBD_BACKEND_NONBLOCKING |
		 CNBD_BACKEND_NATIVE_FUA,
	.open_export = memory_open_export,
	.close_export = memory_close_export,
	.get_size = memory_get_size,
	.pread = memory_pread,
	.pwrite = memory_pwrite,
	.flush = memory_flush,
	.trim = memory_punch,
	.zero = memory_punch,
	.cache = memory_cache,
	.extents = memory_extents,
	.read_fd = memory_read_fd,
	.export_pack = memory_export_pack,
	.export_unpack = memory_export_unpack,
};

CNBD_BACKEND_REGISTER(memory_backend)
