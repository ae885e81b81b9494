/* SPDX-License-Identifier: MIT */
/*
 * crashy: a RAM disk whose worker dies of a NULL dereference when a read
 * touches a chosen offset. It shows, and lets a test check, that a
 * crashing backend takes down its own connection only: the master logs
 * the signal and every other client goes on.
 *
 *   [boom]
 *   backend = crashy
 *   size = 64M           ; default 64M
 *   crash-at = 1M        ; a read touching this byte crashes (repeatable
 *                        ; as a comma list: 1M,5M)
 *
 * Storage is a memfd mapped MAP_SHARED by the master, like memory's, so
 * what one client wrote, another (and a reconnecting one) reads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cnbd/backend.h"

#define DEFAULT_SIZE	(64LL << 20)
#define MAX_CRASH	16

struct crashy {
	int fd;
	char *map;
	int64_t size;
	uint64_t crash_at[MAX_CRASH];
	size_t ncrash;
};

/* A volatile object holding NULL: the compiler must load it and store
 * through it, so the crash is a real SIGSEGV, not undefined behaviour
 * optimised into something else. */
static int *volatile null_pointer;

static int parse_crash_at(struct crashy *c, const char *value)
{
	char *copy = strdup(value), *item, *save = NULL;
	int rc = 0;

	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		int64_t off = cnbd_parse_size("crashy: crash-at", item);

		if (off < 0 || c->ncrash == MAX_CRASH) {
			if (off >= 0)
				cnbd_error("crashy: at most %d crash-at offsets", MAX_CRASH);
			rc = -1;
			break;
		}
		c->crash_at[c->ncrash++] = off;
	}
	free(copy);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

static void crashy_close_export(void *handle)
{
	struct crashy *c = handle;

	if (c->map)
		munmap(c->map, c->size);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void *crashy_open_export(const struct cnbd_param *params, size_t n)
{
	struct crashy *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->size = DEFAULT_SIZE;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(params[i].key, "size")) {
			c->size = cnbd_parse_size("crashy: size", params[i].value);
			if (c->size <= 0)
				goto fail;
		} else if (!strcmp(params[i].key, "crash-at")) {
			if (parse_crash_at(c, params[i].value) < 0)
				goto fail;
		} else {
			cnbd_error("crashy: unknown parameter '%s' (known: size, crash-at)",
				   params[i].key);
			errno = EINVAL;
			goto fail;
		}
	}
	c->fd = memfd_create("cnbd-crashy", MFD_CLOEXEC);
	if (c->fd < 0 || ftruncate(c->fd, c->size) < 0) {
		cnbd_error("crashy: cannot make a %lld-byte disk: %s",
			   (long long)c->size, strerror(errno));
		goto fail;
	}
	c->map = mmap(NULL, c->size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_NORESERVE, c->fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		cnbd_error("crashy: cannot map the disk: %s", strerror(errno));
		goto fail;
	}
	return c;
fail:
	crashy_close_export(c);
	return NULL;
}

/* The memfd and the settings; the worker maps the disk itself. */
static int crashy_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct crashy *c = handle;

	(void)readonly;
	if (cnbd_pack_fd(pack, c->fd) < 0)
		return -1;
	return cnbd_pack_bytes(pack, c, sizeof(*c));
}

static void *crashy_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct crashy *c = calloc(1, sizeof(*c));
	int fd = cnbd_unpack_fd(pack);

	(void)readonly;
	if (!c || fd < 0 || cnbd_unpack_bytes(pack, c, sizeof(*c)) < 0 ||
	    c->size <= 0 || c->ncrash > MAX_CRASH)
		goto fail;
	c->fd = fd;
	c->map = mmap(NULL, c->size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_NORESERVE, c->fd, 0);
	if (c->map == MAP_FAILED)
		goto fail;
	return c;
fail:
	if (fd >= 0)
		close(fd);
	free(c);
	errno = EINVAL;
	return NULL;
}

static int64_t crashy_get_size(void *conn)
{
	return ((struct crashy *)conn)->size;
}

static int crashy_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
			uint32_t flags)
{
	struct crashy *c = conn;

	(void)flags;
	for (size_t i = 0; i < c->ncrash; i++)
		if (c->crash_at[i] >= offset && c->crash_at[i] - offset < count)
			*null_pointer = 1;
	memcpy(buf, c->map + offset, count);
	return 0;
}

static int crashy_pwrite(void *conn, const void *buf, uint32_t count,
			 uint64_t offset, uint32_t flags)
{
	struct crashy *c = conn;

	(void)flags;
	memcpy(c->map + offset, buf, count);
	return 0;
}

/* The pages are the storage: nothing is more durable than a store. */
static int crashy_flush(void *conn, uint32_t flags)
{
	(void)conn;
	(void)flags;
	return 0;
}

static const struct cnbd_backend crashy = {
	CNBD_BACKEND_HEADER,
	.name = "crashy",
	.version = "1.0",
	.description = "a RAM disk whose worker crashes when a read touches crash-at",
	.params_help = "size=SIZE          disk size (default 64M)\n"
		       "crash-at=OFF[,..]  a read touching one of these bytes dereferences NULL",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN,
	.open_export = crashy_open_export,
	.close_export = crashy_close_export,
	.export_pack = crashy_export_pack,
	.export_unpack = crashy_export_unpack,
	.get_size = crashy_get_size,
	.pread = crashy_pread,
	.pwrite = crashy_pwrite,
	.flush = crashy_flush,
};

CNBD_BACKEND_REGISTER(crashy)
