/* SPDX-License-Identifier: MIT */
/*
 * file: export a regular file or a block device.
 *
 * The master opens the storage (as root, so a root-only disk can be
 * exported); every worker inherits the descriptor across fork and uses
 * only positioned I/O on it, so connections never disturb each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cnbd/backend.h"
#include "common/pack_fd.h"
#include "common/pread_full.h"
#include "common/seek_extents.h"

struct file_export {
	int fd;
	bool writable;		/* opened O_RDWR */
	bool blockdev;
	uint32_t sector;	/* logical block size: ioctl ranges align to it */
	char *path;
	/* The file system refused RWF_NOWAIT (tmpfs for both, ext4 for
	 * buffered writes): answer EAGAIN without asking again. Set once, by
	 * whichever thread learns it first. */
	bool nowait_unsupported[2];	/* [0] reads, [1] writes */
	/* A regular file on tmpfs or ramfs: its pages are memory, so
	 * reading and writing never wait for a disk, and CNBD_NOWAIT calls
	 * simply do the work (tmpfs refuses RWF_NOWAIT, which would send
	 * every request through the executor for nothing). */
	bool in_memory;
};

struct file_conn {
	struct file_export *exp;
	bool readonly;
};

/* Writing zeros by hand, when nothing faster works: read from .bss. */
static const char zeros[64 * 1024];

static int open_storage(struct file_export *exp)
{
	exp->fd = open(exp->path, O_RDWR | O_CLOEXEC);
	exp->writable = true;
	if (exp->fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		/* Serve it read-only; writes will fail with EPERM. */
		exp->fd = open(exp->path, O_RDONLY | O_CLOEXEC);
		exp->writable = false;
		if (exp->fd >= 0)
			cnbd_debug("file: %s is not writable: serving it read-only",
				   exp->path);
	}
	if (exp->fd < 0) {
		cnbd_error("file: cannot open %s: %s", exp->path, strerror(errno));
		return -1;
	}
	return 0;
}

static bool on_memory_fs(int fd)
{
	struct statfs fs;

	if (fstatfs(fd, &fs) < 0)
		return false;
	return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

static int check_storage(struct file_export *exp)
{
	struct stat st;
	int sector;

	if (fstat(exp->fd, &st) < 0) {
		cnbd_error("file: %s: %s", exp->path, strerror(errno));
		return -1;
	}
	exp->sector = 512;
	if (S_ISREG(st.st_mode)) {
		exp->in_memory = on_memory_fs(exp->fd);
		return 0;
	}
	if (!S_ISBLK(st.st_mode)) {
		cnbd_error("file: %s is neither a regular file nor a block device",
			   exp->path);
		errno = EINVAL;
		return -1;
	}
	exp->blockdev = true;
	if (ioctl(exp->fd, BLKSSZGET, &sector) == 0 && sector >= 512)
		exp->sector = sector;
	return 0;
}

static int parse_params(struct file_export *exp,
			const struct cnbd_param *params, size_t nparams)
{
	for (size_t i = 0; i < nparams; i++) {
		if (strcmp(params[i].key, "path")) {
			cnbd_error("file: unknown parameter '%s' (known: path)",
				   params[i].key);
			errno = EINVAL;
			return -1;
		}
		free(exp->path);
		exp->path = strdup(params[i].value);
		if (!exp->path)
			return -1;
	}
	if (!exp->path || !*exp->path) {
		cnbd_error("file: the parameter 'path' is required");
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void file_close_export(void *handle)
{
	struct file_export *exp = handle;
	int saved = errno;

	if (!exp)
		return;
	if (exp->fd >= 0)
		close(exp->fd);
	free(exp->path);
	free(exp);
	errno = saved;
}

static void *file_open_export(const struct cnbd_param *params, size_t nparams)
{
	struct file_export *exp = calloc(1, sizeof(*exp));

	if (!exp)
		return NULL;
	exp->fd = -1;
	if (parse_params(exp, params, nparams) < 0 ||
	    open_storage(exp) < 0 || check_storage(exp) < 0) {
		file_close_export(exp);
		return NULL;
	}
	return exp;
}

/* What a worker needs besides the descriptor. */
struct file_packed {
	uint8_t writable, blockdev, in_memory;
	uint32_t sector;
	uint32_t path_len;
};

/* A read-only export gets a descriptor of its own opened read-only:
 * reopening /proc/self/fd/N makes a new open file whose mode the worker
 * cannot change (F_SETFL cannot add write access). */
static int file_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct file_export *exp = handle;
	struct file_packed fp;

	/* Padding too: no byte of the master's stack goes to a worker. */
	memset(&fp, 0, sizeof(fp));
	fp.writable = exp->writable && !readonly;
	fp.blockdev = exp->blockdev;
	fp.in_memory = exp->in_memory;
	fp.sector = exp->sector;
	fp.path_len = strlen(exp->path);

	if (pack_storage_fd(pack, exp->fd, !fp.writable) < 0) {
		cnbd_error("file: cannot hand %s to a worker: %s", exp->path, strerror(errno));
		return -1;
	}
	if (cnbd_pack_bytes(pack, &fp, sizeof(fp)) < 0 ||
	    cnbd_pack_bytes(pack, exp->path, fp.path_len) < 0)
		return -1;
	return 0;
}

static void *file_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct file_export *exp = calloc(1, sizeof(*exp));
	struct file_packed fp;

	if (!exp)
		return NULL;
	exp->fd = cnbd_unpack_fd(pack);
	if (exp->fd < 0 || cnbd_unpack_bytes(pack, &fp, sizeof(fp)) < 0 ||
	    fp.path_len > CNBD_PACK_MAX_BYTES || !(exp->path = calloc(1, fp.path_len + 1)) ||
	    cnbd_unpack_bytes(pack, exp->path, fp.path_len) < 0) {
		file_close_export(exp);
		errno = EINVAL;
		return NULL;
	}
	exp->writable = fp.writable && !readonly;
	exp->blockdev = fp.blockdev;
	exp->in_memory = fp.in_memory;
	exp->sector = fp.sector;
	return exp;
}

static void *file_open_conn(void *handle, bool readonly)
{
	struct file_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->exp = handle;
	c->readonly = readonly;
	return c;
}

static void file_close_conn(void *conn)
{
	free(conn);
}

/* A file the master could only open read-only is advertised so. */
static int file_can_write(void *conn)
{
	const struct file_conn *c = conn;

	return !c->readonly && c->exp->writable;
}

static int64_t file_get_size(void *conn)
{
	struct file_export *exp = ((struct file_conn *)conn)->exp;
	uint64_t size;
	struct stat st;

	if (exp->blockdev) {
		if (ioctl(exp->fd, BLKGETSIZE64, &size) < 0)
			return -1;
		return (int64_t)size;
	}
	if (fstat(exp->fd, &st) < 0)
		return -1;
	return st.st_size;
}

/* CNBD_NOWAIT: the whole range from the page cache at once, or EAGAIN
 * (a partial answer also means "would block": the pool redoes it all). */
static int transfer_nowait(struct file_export *exp, void *buf, uint32_t count,
			   uint64_t offset, bool write)
{
	struct iovec iov = { .iov_base = buf, .iov_len = count };
	ssize_t n;

	if (__atomic_load_n(&exp->nowait_unsupported[write], __ATOMIC_RELAXED)) {
		errno = EAGAIN;
		return -1;
	}
	do {
		n = write ? pwritev2(exp->fd, &iov, 1, (off_t)offset, RWF_NOWAIT)
			  : preadv2(exp->fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)count)
		return 0;
	if (n < 0 && errno == EOPNOTSUPP)
		__atomic_store_n(&exp->nowait_unsupported[write], true, __ATOMIC_RELAXED);
	if (n >= 0 || errno == EOPNOTSUPP)
		errno = EAGAIN;
	return -1;
}

/* Only a file on tmpfs or ramfs: a disk's read could wait, or fail after
 * the server has sent the reply's header (see cnbd_backend.read_fd). */
static int file_read_fd(void *conn, uint32_t count, uint64_t offset, int *fd,
			uint64_t *fd_offset)
{
	struct file_export *exp = ((struct file_conn *)conn)->exp;

	(void)count;
	if (!exp->in_memory)
		return -1;
	*fd = exp->fd;
	*fd_offset = offset;
	return 0;
}

static int file_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
		      uint32_t flags)
{
	struct file_export *exp = ((struct file_conn *)conn)->exp;
	int rc;

	if ((flags & CNBD_NOWAIT) && !exp->in_memory)
		return transfer_nowait(exp, buf, count, offset, false);
	rc = pread_full(exp->fd, buf, count, offset);
	if (rc > 0) {
		/* It shrank after its size was announced. */
		cnbd_error("file: %s ends before offset %llu", exp->path,
			   (unsigned long long)(offset + count));
		errno = EINVAL;
		return -1;
	}
	return rc;
}

/* Writes may come from a read-only connection only by a server bug, and
 * to a read-only descriptor when the storage refused O_RDWR. */
static int check_writable(struct file_conn *c)
{
	if (c->readonly || !c->exp->writable) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* One positioned write; RWF_DSYNC makes it a true FUA write (the kernel
 * syncs just this range, or sends REQ_FUA to a block device). */
static ssize_t write_once(int fd, const void *buf, size_t count, uint64_t offset,
			  bool fua)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = count };

	if (!fua)
		return pwrite(fd, buf, count, (off_t)offset);
	return pwritev2(fd, &iov, 1, (off_t)offset, RWF_DSYNC);
}

static int write_all(int fd, const void *buf, size_t count, uint64_t offset,
		     bool fua)
{
	const char *p = buf;
	ssize_t n;

	while (count) {
		n = write_once(fd, p, count, offset, fua);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && fua && (errno == EOPNOTSUPP || errno == ENOSYS)) {
			/* An old kernel: write, then sync everything. */
			if (write_all(fd, p, count, offset, false) < 0)
				return -1;
			return fdatasync(fd);
		}
		if (n < 0)
			return -1;
		if (n == 0) {
			/* Only a block device's end stops a write. */
			errno = ENOSPC;
			return -1;
		}
		p += n;
		count -= n;
		offset += n;
	}
	return 0;
}

static int file_pwrite(void *conn, const void *buf, uint32_t count,
		       uint64_t offset, uint32_t flags)
{
	struct file_conn *c = conn;

	if (check_writable(c) < 0)
		return -1;
	if ((flags & CNBD_NOWAIT) && !c->exp->in_memory) {
		if (flags & CNBD_FUA) {
			errno = EAGAIN;	/* it waits for the disk by definition */
			return -1;
		}
		return transfer_nowait(c->exp, (void *)buf, count, offset, true);
	}
	return write_all(c->exp->fd, buf, count, offset, flags & CNBD_FUA);
}

static int file_flush(void *conn, uint32_t flags)
{
	struct file_conn *c = conn;

	(void)flags;
	return fdatasync(c->exp->fd);
}

static int fua_sync(struct file_conn *c, uint32_t flags)
{
	return (flags & CNBD_FUA) ? fdatasync(c->exp->fd) : 0;
}

static int write_zeros(struct file_export *exp, uint32_t count, uint64_t offset)
{
	uint32_t n;

	while (count) {
		n = count < sizeof(zeros) ? count : sizeof(zeros);
		if (write_all(exp->fd, zeros, n, offset, false) < 0)
			return -1;
		count -= n;
		offset += n;
	}
	return 0;
}

/* Block device ioctls take whole logical blocks: [*start, *end) becomes
 * the aligned part of [offset, offset + count), possibly empty. */
static bool aligned_part(struct file_export *exp, uint32_t count,
			 uint64_t offset, uint64_t *start, uint64_t *end)
{
	uint64_t mask = exp->sector - 1;

	*start = (offset + mask) & ~mask;
	*end = (offset + count) & ~mask;
	return *start < *end;
}

static bool unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS || err == ENOTTY;
}

static int blockdev_trim(struct file_export *exp, uint32_t count,
			 uint64_t offset)
{
	uint64_t range[2], start, end;

	/* A discard is advisory: partial blocks at the edges stay as they
	 * are, and a device that cannot discard just keeps the data. */
	if (!aligned_part(exp, count, offset, &start, &end))
		return 0;
	range[0] = start;
	range[1] = end - start;
	if (ioctl(exp->fd, BLKDISCARD, range) < 0 && !unsupported(errno))
		return -1;
	return 0;
}

static int file_trim(void *conn, uint32_t count, uint64_t offset,
		     uint32_t flags)
{
	struct file_conn *c = conn;
	struct file_export *exp = c->exp;
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (check_writable(c) < 0)
		return -1;
	if (exp->blockdev) {
		if (blockdev_trim(exp, count, offset) < 0)
			return -1;
	} else if (fallocate(exp->fd, mode, (off_t)offset, count) < 0 &&
		   !unsupported(errno)) {
		return -1;
	}
	return fua_sync(c, flags);
}

/* Zeroes whole blocks in [start, end) of a block device. PUNCH_HOLE on a
 * block device never falls back to writing (it fails with EOPNOTSUPP
 * instead), which is exactly what FAST_ZERO asks; BLKZEROOUT may write. */
static int blockdev_zero_aligned(struct file_export *exp, uint64_t start,
				 uint64_t end, uint32_t flags)
{
	uint64_t range[2] = { start, end - start };
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (flags & (CNBD_MAY_TRIM | CNBD_FAST_ZERO)) {
		if (fallocate(exp->fd, mode, (off_t)start, end - start) == 0)
			return 0;
		if (!unsupported(errno))
			return -1;
		if (flags & CNBD_FAST_ZERO) {
			errno = ENOTSUP;
			return -1;
		}
	}
	return ioctl(exp->fd, BLKZEROOUT, range);
}

static int blockdev_zero(struct file_export *exp, uint32_t count,
			 uint64_t offset, uint32_t flags)
{
	uint64_t start, end;

	if (!aligned_part(exp, count, offset, &start, &end)) {
		if (flags & CNBD_FAST_ZERO) {
			errno = ENOTSUP;
			return -1;
		}
		return write_zeros(exp, count, offset);
	}
	if (blockdev_zero_aligned(exp, start, end, flags) < 0)
		return -1;
	/* The unaligned edges, less than a block each. */
	if (write_zeros(exp, start - offset, offset) < 0)
		return -1;
	return write_zeros(exp, offset + count - end, end);
}

static int regular_zero(struct file_export *exp, uint32_t count,
			uint64_t offset, uint32_t flags)
{
	int mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (flags & CNBD_MAY_TRIM) {
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		if (fallocate(exp->fd, mode, (off_t)offset, count) == 0)
			return 0;
		if (!unsupported(errno))
			return -1;
		mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	}
	if (fallocate(exp->fd, mode, (off_t)offset, count) == 0)
		return 0;
	if (!unsupported(errno))
		return -1;
	if (flags & CNBD_FAST_ZERO) {
		errno = ENOTSUP;
		return -1;
	}
	return write_zeros(exp, count, offset);
}

static int file_zero(void *conn, uint32_t count, uint64_t offset,
		     uint32_t flags)
{
	struct file_conn *c = conn;
	int r;

	if (check_writable(c) < 0)
		return -1;
	if (c->exp->blockdev)
		r = blockdev_zero(c->exp, count, offset, flags);
	else
		r = regular_zero(c->exp, count, offset, flags);
	if (r < 0)
		return -1;
	return fua_sync(c, flags);
}

static int file_cache(void *conn, uint32_t count, uint64_t offset,
		      uint32_t flags)
{
	struct file_conn *c = conn;
	int err;

	(void)flags;
	err = posix_fadvise(c->exp->fd, (off_t)offset, count,
			    POSIX_FADV_WILLNEED);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static int file_extents(void *conn, uint32_t count, uint64_t offset,
			uint32_t flags, struct cnbd_extents *extents)
{
	struct file_conn *c = conn;

	return seek_extents(c->exp->fd, offset, count, flags & CNBD_REQ_ONE,
			    extents);
}

static const struct cnbd_backend file_backend = {
	CNBD_BACKEND_HEADER,
	.name = "file",
	.version = CNBD_VERSION,
	.description = "a regular file or a block device",
	.params_help = "path=FILE  the file or block device to export (required)",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN |
		 CNBD_BACKEND_NATIVE_FUA | CNBD_BACKEND_NOWAIT,
	.open_export = file_open_export,
	.close_export = file_close_export,
	.open_conn = file_open_conn,
	.close_conn = file_close_conn,
	.get_size = file_get_size,
	.pread = file_pread,
	.pwrite = file_pwrite,
	.flush = file_flush,
	.trim = file_trim,
	.zero = file_zero,
	.cache = file_cache,
	.extents = file_extents,
	.can_write = file_can_write,
	.read_fd = file_read_fd,
	.export_pack = file_export_pack,
	.export_unpack = file_export_unpack,
};

CNBD_BACKEND_REGISTER(file_backend)
