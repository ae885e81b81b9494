/* SPDX-License-Identifier: MIT */
/*
 * The overlay's storage: the persistent overlay file (its header made
 * once and checked at every start), and a per-connection temporary one.
 * Both run in the master.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pread_full.h"
#include "cow.h"

static uint64_t round_up(uint64_t n, uint64_t to)
{
	return (n + to - 1) / to * to;
}

void cow_geometry(struct cow_geom *g, uint64_t size, uint32_t bs, bool persistent)
{
	memset(g, 0, sizeof(*g));
	g->size = size;
	g->block_size = bs;
	g->nblocks = (size + bs - 1) / bs;
	g->persistent = persistent;
	if (persistent) {
		g->map_offset = COW_HEADER_SIZE;
		g->data_offset = round_up(COW_HEADER_SIZE + g->nblocks, bs);
	}
}

/* The new file's name must survive a power cut too. */
static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int create_header(struct cow_export *x, uint64_t size)
{
	struct cow_header h;
	uint32_t bs = x->block_size_asked ? x->block_size_asked : COW_DEFAULT_BLOCK;
	char page[COW_HEADER_SIZE] = { 0 };

	cow_geometry(&x->g, size, bs, true);
	memcpy(h.magic, COW_MAGIC, sizeof(h.magic));
	h.version = htole32(COW_VERSION);
	h.block_size = htole32(bs);
	h.size = htole64(size);
	h.map_offset = htole64(x->g.map_offset);
	h.data_offset = htole64(x->g.data_offset);
	memcpy(page, &h, sizeof(h));
	if (pwrite_full(x->fd, page, sizeof(page), 0) < 0 ||
	    ftruncate(x->fd, (off_t)(x->g.data_offset + size)) < 0 ||
	    fdatasync(x->fd) < 0 || sync_dir(x->overlay_path) < 0) {
		cnbd_error("cow: cannot make the overlay %s: %s", x->overlay_path,
			   strerror(errno));
		return -1;
	}
	cnbd_debug("cow: made the overlay %s: %llu blocks of %u bytes", x->overlay_path,
		   (unsigned long long)x->g.nblocks, bs);
	return 0;
}

static int bad(const struct cow_export *x, const char *why)
{
	cnbd_error("cow: %s: %s", x->overlay_path, why);
	errno = EINVAL;
	return -1;
}

static int check_header(struct cow_export *x, uint64_t size)
{
	struct cow_header h;
	struct cow_geom want;
	uint32_t bs;
	char why[256];

	if (pread_full(x->fd, &h, sizeof(h), 0) != 0 || memcmp(h.magic, COW_MAGIC, 8))
		return bad(x, "not a cow overlay (no CNBDCOW1 header)");
	if (le32toh(h.version) != COW_VERSION)
		return bad(x, "an overlay of another version of cow");
	bs = le32toh(h.block_size);
	if (bs < COW_MIN_BLOCK || bs > COW_MAX_BLOCK || (bs & (bs - 1)))
		return bad(x, "its header is damaged (block size)");
	if (x->block_size_asked && x->block_size_asked != bs) {
		snprintf(why, sizeof(why), "made with block-size %u; the export asks for %u",
			 bs, x->block_size_asked);
		return bad(x, why);
	}
	if (le64toh(h.size) != size) {
		snprintf(why, sizeof(why), "made for a base of %llu bytes; the base now has %llu",
			 (unsigned long long)le64toh(h.size), (unsigned long long)size);
		return bad(x, why);
	}
	cow_geometry(&want, size, bs, true);
	if (le64toh(h.map_offset) != want.map_offset || le64toh(h.data_offset) != want.data_offset)
		return bad(x, "its header is damaged (offsets)");
	x->g = want;
	return 0;
}

int cow_overlay_open(struct cow_export *x)
{
	uint64_t size = x->g.size;
	struct stat st;

	x->fd = open(x->overlay_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (x->fd < 0) {
		cnbd_error("cow: cannot open the overlay %s: %s", x->overlay_path, strerror(errno));
		return -1;
	}
	/* One live map per file: a second one would undo the first's. */
	if (flock(x->fd, LOCK_EX | LOCK_NB) < 0) {
		cnbd_error("cow: the overlay %s is in use: by another export or server, or by this export as it runs now (a change to its stack needs nbdctl server remove NAME first, and its connections to end)",
			   x->overlay_path);
		errno = EBUSY;
		return -1;
	}
	if (fstat(x->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return bad(x, "not a regular file");
	if (st.st_size == 0)
		return create_header(x, size);
	if (check_header(x, size) < 0)
		return -1;
	/* A file cut short (copied sparsely, say) reads as zeros past its end. */
	if ((uint64_t)st.st_size < x->g.data_offset + size &&
	    ftruncate(x->fd, (off_t)(x->g.data_offset + size)) < 0)
		return bad(x, strerror(errno));
	return 0;
}

int cow_overlay_temp(const struct cow_export *x)
{
	int fd;

	if (x->temp_dir)
		fd = open(x->temp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	else
		fd = memfd_create("cnbd-cow", MFD_CLOEXEC);
	if (fd < 0) {
		cnbd_error("cow: cannot make a temporary overlay%s%s: %s",
			   x->temp_dir ? " in " : "", x->temp_dir ? x->temp_dir : "",
			   strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)x->g.size) < 0) {
		cnbd_error("cow: cannot size a temporary overlay: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
