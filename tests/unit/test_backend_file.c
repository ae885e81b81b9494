/* SPDX-License-Identifier: MIT */
/*
 * The file backend, called directly (linked with backends/file.o).
 * fallocate, open and cnbd_error are wrapped by the linker so that a test
 * can make the file system refuse an operation, make a file unwritable
 * even to root, and see the message a failure logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "cnbd/backend.h"
#include "engine/extents.h"

#define KiB	1024ULL
#define FILE_SIZE	(1024 * KiB)

const struct cnbd_backend *cnbd_backend_entry(void);
int __real_fallocate(int fd, int mode, off_t offset, off_t len);
int __wrap_fallocate(int fd, int mode, off_t offset, off_t len);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
void __wrap_cnbd_error(const char *fmt, ...);

/* fallocate modes (exact match) that fail with EOPNOTSUPP */
static int refused_modes[4];
static int nrefused;
/* open(O_RDWR) of this path fails with EACCES, as for an ordinary user */
static const char *unwritable_path;
static char last_error[512];

int __wrap_fallocate(int fd, int mode, off_t offset, off_t len)
{
	for (int i = 0; i < nrefused; i++) {
		if (refused_modes[i] == mode) {
			errno = EOPNOTSUPP;
			return -1;
		}
	}
	return __real_fallocate(fd, mode, offset, len);
}

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	if (unwritable_path && !strcmp(path, unwritable_path) &&
	    (flags & O_ACCMODE) != O_RDONLY) {
		errno = EACCES;
		return -1;
	}
	return __real_open(path, flags, mode);
}

void __wrap_cnbd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

struct fixture {
	const struct cnbd_backend *be;
	char path[64];
	void *exp;
	void *conn;
};

static void *open_path(const struct cnbd_backend *be, const char *path)
{
	struct cnbd_param p[] = { { "path", path } };

	return be->open_export(p, 1);
}

static int setup_in(void **state, const char *dir)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	nrefused = 0;
	unwritable_path = NULL;
	last_error[0] = '\0';
	f->be = cnbd_backend_entry();
	snprintf(f->path, sizeof(f->path), "%s/cnbd-test-file-XXXXXX", dir);
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, FILE_SIZE), 0);
	close(fd);
	f->exp = open_path(f->be, f->path);
	assert_non_null(f->exp);
	f->conn = f->be->open_conn(f->exp, false);
	assert_non_null(f->conn);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_in(state, "/tmp");
}

/* /dev/shm is tmpfs wherever systemd or Docker set the machine up. */
static int setup_tmpfs(void **state)
{
	struct statfs fs;

	assert_int_equal(statfs("/dev/shm", &fs), 0);
	assert_true(fs.f_type == TMPFS_MAGIC);
	return setup_in(state, "/dev/shm");
}

static bool on_tmpfs(const char *path)
{
	struct statfs fs;

	assert_int_equal(statfs(path, &fs), 0);
	return fs.f_type == TMPFS_MAGIC;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->be->close_conn(f->conn);
	f->be->close_export(f->exp);
	unlink(f->path);
	free(f);
	unwritable_path = NULL;
	return 0;
}

/* A pattern that depends on the absolute offset, so that any part of a
 * write can be checked on its own. */
static void fill(char *buf, size_t len, unsigned seed, uint64_t offset)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t o = offset + i;

		buf[i] = (char)(seed * 31 + o * 7 + (o >> 9));
	}
}

static void write_pattern(struct fixture *f, uint64_t offset, uint32_t len,
			  unsigned seed)
{
	char *buf = malloc(len);

	assert_non_null(buf);
	fill(buf, len, seed, offset);
	assert_int_equal(f->be->pwrite(f->conn, buf, len, offset, 0), 0);
	free(buf);
}

static void assert_reads_pattern(struct fixture *f, uint64_t offset,
				 uint32_t len, unsigned seed)
{
	char *want = malloc(len), *got = malloc(len);

	assert_non_null(want);
	assert_non_null(got);
	fill(want, len, seed, offset);
	assert_int_equal(f->be->pread(f->conn, got, len, offset, 0), 0);
	assert_memory_equal(got, want, len);
	free(want);
	free(got);
}

static void assert_reads_zeros(struct fixture *f, uint64_t offset, uint32_t len)
{
	char *got = malloc(len), *zero = calloc(1, len);

	assert_non_null(got);
	assert_non_null(zero);
	memset(got, 0xa5, len);
	assert_int_equal(f->be->pread(f->conn, got, len, offset, 0), 0);
	assert_memory_equal(got, zero, len);
	free(got);
	free(zero);
}

static long long allocated_bytes(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_blocks * 512;
}

/* ---- parameters and opening ---- */

static void test_descriptor(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->be->name, "file");
	assert_int_equal(f->be->abi_version, CNBD_BACKEND_ABI_VERSION);
	assert_int_equal(f->be->struct_size, sizeof(struct cnbd_backend));
	assert_int_equal(f->be->flags, CNBD_BACKEND_PARALLEL |
			 CNBD_BACKEND_MULTI_CONN | CNBD_BACKEND_NATIVE_FUA |
			 CNBD_BACKEND_NOWAIT);
	assert_int_equal(f->be->get_size(f->conn), FILE_SIZE);
}

static void test_unknown_param_refused(void **state)
{
	struct fixture *f = *state;
	struct cnbd_param p[] = { { "path", f->path }, { "sise", "1G" } };

	errno = 0;
	assert_null(f->be->open_export(p, 2));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(last_error, "sise"));
}

static void test_path_required(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	assert_null(f->be->open_export(NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(last_error, "path"));
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	assert_null(open_path(f->be, "/nonexistent/cnbd-test"));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(last_error, "/nonexistent/cnbd-test"));
}

static void test_directory_refused(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	/* Opening a directory O_RDWR fails with EISDIR before any check. */
	assert_null(open_path(f->be, "/tmp"));
	assert_true(errno == EISDIR || errno == EINVAL);
}

static void test_character_device_refused(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	assert_null(open_path(f->be, "/dev/null"));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(last_error, "neither a regular file nor a block device"));
}

/* ---- data ---- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;

	write_pattern(f, 0, 4096, 1);
	write_pattern(f, 12345, 70000, 2);	/* unaligned, crosses blocks */
	write_pattern(f, FILE_SIZE - 512, 512, 3);
	assert_reads_pattern(f, 0, 4096, 1);
	assert_reads_pattern(f, 12345, 70000, 2);
	assert_reads_pattern(f, FILE_SIZE - 512, 512, 3);
	assert_reads_zeros(f, 4096, 12345 - 4096);
	assert_int_equal(f->be->get_size(f->conn), FILE_SIZE);
}

/* CNBD_NOWAIT: what the page cache holds comes back at once; a FUA write
 * must wait for the disk, so it says EAGAIN and is left untouched. */
static void test_nowait(void **state)
{
	struct fixture *f = *state;
	char out[8192], in[8192];

	memset(out, 0x5a, sizeof(out));
	assert_int_equal(f->be->pwrite(f->conn, out, sizeof(out), 4096, 0), 0);
	memset(in, 0, sizeof(in));
	/* Just written, so cached: a nowait read must succeed in full. */
	assert_int_equal(f->be->pread(f->conn, in, sizeof(in), 4096, CNBD_NOWAIT), 0);
	assert_memory_equal(in, out, sizeof(in));

	memset(out, 0x6b, 4096);
	if (f->be->pwrite(f->conn, out, 4096, 8192, CNBD_NOWAIT) == 0) {
		assert_int_equal(f->be->pread(f->conn, in, 4096, 8192, 0), 0);
		assert_memory_equal(in, out, 4096);
	} else {
		/* A file system without nowait buffered writes: EAGAIN only. */
		assert_int_equal(errno, EAGAIN);
	}
	if (on_tmpfs(f->path))
		return;	/* test_nowait_tmpfs: there even a FUA write is done */
	errno = 0;
	assert_int_equal(f->be->pwrite(f->conn, out, 4096, 0, CNBD_NOWAIT | CNBD_FUA), -1);
	assert_int_equal(errno, EAGAIN);
}

/* A file on tmpfs is memory: tmpfs refuses RWF_NOWAIT, yet no call can
 * wait for a disk, so CNBD_NOWAIT reads and writes (FUA ones too) are
 * simply done rather than sent to the executor with EAGAIN. */
static void test_nowait_tmpfs(void **state)
{
	struct fixture *f = *state;
	char out[8192], in[8192];

	fill(out, sizeof(out), 7, 65536);
	assert_int_equal(f->be->pwrite(f->conn, out, sizeof(out), 65536, CNBD_NOWAIT), 0);
	memset(in, 0, sizeof(in));
	assert_int_equal(f->be->pread(f->conn, in, sizeof(in), 65536, CNBD_NOWAIT), 0);
	assert_memory_equal(in, out, sizeof(in));
	fill(out, 4096, 8, 0);
	assert_int_equal(f->be->pwrite(f->conn, out, 4096, 0, CNBD_NOWAIT | CNBD_FUA), 0);
	assert_int_equal(f->be->pread(f->conn, in, 4096, 0, 0), 0);
	assert_memory_equal(in, out, 4096);
	/* A hole reads as zeros without waiting either. */
	assert_int_equal(f->be->pread(f->conn, in, 4096, FILE_SIZE - 4096, CNBD_NOWAIT), 0);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(in[i], 0);
}

static void test_fua_write_and_flush(void **state)
{
	struct fixture *f = *state;
	char buf[8192];

	fill(buf, sizeof(buf), 9, 65536);
	assert_int_equal(f->be->pwrite(f->conn, buf, sizeof(buf), 65536,
				       CNBD_FUA), 0);
	assert_int_equal(f->be->flush(f->conn, 0), 0);
	assert_reads_pattern(f, 65536, sizeof(buf), 9);
}

/* What another process sees through the file, not only the backend. */
static void test_writes_reach_the_file(void **state)
{
	struct fixture *f = *state;
	char want[4096], got[4096];
	int fd;

	write_pattern(f, 200 * KiB, sizeof(want), 4);
	fill(want, sizeof(want), 4, 200 * KiB);
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, sizeof(got), 200 * KiB), sizeof(got));
	close(fd);
	assert_memory_equal(got, want, sizeof(got));
}

static void test_read_past_end(void **state)
{
	struct fixture *f = *state;
	char buf[8192];

	errno = 0;
	assert_int_equal(f->be->pread(f->conn, buf, sizeof(buf),
				      FILE_SIZE - 4096, 0), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(f->be->pread(f->conn, buf, 512, 2 * FILE_SIZE, 0), -1);
	assert_int_equal(errno, EINVAL);
	/* The last byte is still readable. */
	assert_int_equal(f->be->pread(f->conn, buf, 1, FILE_SIZE - 1, 0), 0);
}

static void test_cache(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->be->cache(f->conn, 65536, 0, 0), 0);
}

/* ---- trim and zero ---- */

static void test_trim_reads_zeros_and_frees(void **state)
{
	struct fixture *f = *state;
	long long before;

	write_pattern(f, 0, 256 * KiB, 5);
	assert_int_equal(f->be->flush(f->conn, 0), 0);
	before = allocated_bytes(f->path);
	assert_int_equal(f->be->trim(f->conn, 128 * KiB, 64 * KiB, CNBD_FUA), 0);
	assert_reads_zeros(f, 64 * KiB, 128 * KiB);
	assert_reads_pattern(f, 0, 64 * KiB, 5);
	assert_true(allocated_bytes(f->path) <= before - 128 * (long long)KiB);
}

static void test_trim_unsupported_is_harmless(void **state)
{
	struct fixture *f = *state;

	refused_modes[nrefused++] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	write_pattern(f, 0, 8192, 6);
	/* Trim is advisory: no error, the data may stay. */
	assert_int_equal(f->be->trim(f->conn, 8192, 0, 0), 0);
	assert_reads_pattern(f, 0, 8192, 6);
}

static void test_zero_keeps_allocation(void **state)
{
	struct fixture *f = *state;
	long long before;

	write_pattern(f, 0, 256 * KiB, 7);
	assert_int_equal(f->be->flush(f->conn, 0), 0);
	before = allocated_bytes(f->path);
	assert_int_equal(f->be->zero(f->conn, 100 * KiB, 10 * KiB, 0), 0);
	assert_reads_zeros(f, 10 * KiB, 100 * KiB);
	assert_reads_pattern(f, 0, 10 * KiB, 7);
	/* Without MAY_TRIM the blocks stay reserved: a later write there
	 * cannot fail for lack of space. */
	assert_true(allocated_bytes(f->path) >= before);
}

static void test_zero_may_trim_punches(void **state)
{
	struct fixture *f = *state;
	long long before;

	write_pattern(f, 0, 256 * KiB, 8);
	assert_int_equal(f->be->flush(f->conn, 0), 0);
	before = allocated_bytes(f->path);
	assert_int_equal(f->be->zero(f->conn, 128 * KiB, 64 * KiB,
				     CNBD_MAY_TRIM | CNBD_FUA), 0);
	assert_reads_zeros(f, 64 * KiB, 128 * KiB);
	assert_reads_pattern(f, 192 * KiB, 64 * KiB, 8);
	assert_true(allocated_bytes(f->path) <= before - 128 * (long long)KiB);
}

/* A file system without ZERO_RANGE or PUNCH_HOLE: zeros get written. */
static void test_zero_falls_back_to_writing(void **state)
{
	struct fixture *f = *state;

	refused_modes[nrefused++] = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	refused_modes[nrefused++] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	write_pattern(f, 0, 300 * KiB, 10);
	assert_int_equal(f->be->zero(f->conn, 200 * KiB, 50 * KiB, 0), 0);
	assert_reads_zeros(f, 50 * KiB, 200 * KiB);
	assert_reads_pattern(f, 250 * KiB, 50 * KiB, 10);
	write_pattern(f, 0, 300 * KiB, 11);
	assert_int_equal(f->be->zero(f->conn, 200 * KiB, 50 * KiB,
				     CNBD_MAY_TRIM), 0);
	assert_reads_zeros(f, 50 * KiB, 200 * KiB);
}

static void test_fast_zero_refused_when_slow(void **state)
{
	struct fixture *f = *state;

	refused_modes[nrefused++] = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	refused_modes[nrefused++] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	write_pattern(f, 0, 64 * KiB, 12);
	errno = 0;
	assert_int_equal(f->be->zero(f->conn, 64 * KiB, 0, CNBD_FAST_ZERO), -1);
	assert_int_equal(errno, ENOTSUP);
	/* Nothing was written. */
	assert_reads_pattern(f, 0, 64 * KiB, 12);
}

static void test_fast_zero_when_fast(void **state)
{
	struct fixture *f = *state;

	write_pattern(f, 0, 64 * KiB, 13);
	assert_int_equal(f->be->zero(f->conn, 64 * KiB, 0, CNBD_FAST_ZERO), 0);
	assert_reads_zeros(f, 0, 64 * KiB);
	/* Punching alone still counts as fast when trimming is allowed. */
	refused_modes[nrefused++] = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	write_pattern(f, 0, 64 * KiB, 14);
	assert_int_equal(f->be->zero(f->conn, 64 * KiB, 0,
				     CNBD_FAST_ZERO | CNBD_MAY_TRIM), 0);
	assert_reads_zeros(f, 0, 64 * KiB);
}

/* ---- extents ---- */

static struct cnbd_extents *get_extents(struct fixture *f, uint64_t offset,
					uint32_t count, uint32_t flags)
{
	struct cnbd_extents *e = extents_new(offset, count, flags & CNBD_REQ_ONE);

	assert_non_null(e);
	assert_int_equal(f->be->extents(f->conn, count, offset, flags, e), 0);
	return e;
}

static void assert_extent(struct cnbd_extents *e, size_t i, uint64_t offset,
			  uint64_t length, uint32_t type)
{
	const struct cnbd_extent_entry *x = extents_get(e, i);

	assert_non_null(x);
	assert_int_equal(x->offset, offset);
	assert_int_equal(x->length, length);
	assert_int_equal(x->type, type);
}

#define HOLE	(CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO)

static void make_sparse(struct fixture *f)
{
	write_pattern(f, 64 * KiB, 64 * KiB, 15);
	write_pattern(f, 512 * KiB, 64 * KiB, 16);
	assert_int_equal(f->be->flush(f->conn, 0), 0);
}

static void test_extents_sparse_file(void **state)
{
	struct fixture *f = *state;
	struct cnbd_extents *e;

	make_sparse(f);
	e = get_extents(f, 0, FILE_SIZE, 0);
	assert_int_equal(extents_count(e), 5);
	assert_extent(e, 0, 0, 64 * KiB, HOLE);
	assert_extent(e, 1, 64 * KiB, 64 * KiB, 0);
	assert_extent(e, 2, 128 * KiB, 384 * KiB, HOLE);
	assert_extent(e, 3, 512 * KiB, 64 * KiB, 0);
	assert_extent(e, 4, 576 * KiB, FILE_SIZE - 576 * KiB, HOLE);
	extents_free(e);
}

static void test_extents_mid_range(void **state)
{
	struct fixture *f = *state;
	struct cnbd_extents *e;

	make_sparse(f);
	e = get_extents(f, 100 * KiB, 440 * KiB, 0);
	assert_int_equal(extents_count(e), 3);
	assert_extent(e, 0, 100 * KiB, 28 * KiB, 0);
	assert_extent(e, 1, 128 * KiB, 384 * KiB, HOLE);
	assert_extent(e, 2, 512 * KiB, 28 * KiB, 0);
	extents_free(e);
}

static void test_extents_req_one(void **state)
{
	struct fixture *f = *state;
	struct cnbd_extents *e;

	make_sparse(f);
	e = get_extents(f, 0, FILE_SIZE, CNBD_REQ_ONE);
	assert_int_equal(extents_count(e), 1);
	assert_extent(e, 0, 0, 64 * KiB, HOLE);
	extents_free(e);
	e = get_extents(f, 64 * KiB, FILE_SIZE - 64 * KiB, CNBD_REQ_ONE);
	assert_int_equal(extents_count(e), 1);
	assert_extent(e, 0, 64 * KiB, 64 * KiB, 0);
	extents_free(e);
}

static void test_extents_after_trim(void **state)
{
	struct fixture *f = *state;
	struct cnbd_extents *e;

	write_pattern(f, 0, FILE_SIZE, 17);
	assert_int_equal(f->be->trim(f->conn, 256 * KiB, 256 * KiB, 0), 0);
	e = get_extents(f, 0, FILE_SIZE, 0);
	assert_int_equal(extents_count(e), 3);
	assert_extent(e, 0, 0, 256 * KiB, 0);
	assert_extent(e, 1, 256 * KiB, 256 * KiB, HOLE);
	assert_extent(e, 2, 512 * KiB, 512 * KiB, 0);
	extents_free(e);
}

/* ---- read-only storage and connections ---- */

static void test_unwritable_file_served_read_only(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	void *exp, *conn;

	write_pattern(f, 0, sizeof(buf), 18);
	unwritable_path = f->path;
	exp = open_path(f->be, f->path);
	assert_non_null(exp);
	conn = f->be->open_conn(exp, false);
	assert_non_null(conn);
	assert_int_equal(f->be->pread(conn, buf, sizeof(buf), 0, 0), 0);
	errno = 0;
	assert_int_equal(f->be->pwrite(conn, buf, sizeof(buf), 0, 0), -1);
	assert_int_equal(errno, EPERM);
	errno = 0;
	assert_int_equal(f->be->zero(conn, 512, 0, 0), -1);
	assert_int_equal(errno, EPERM);
	errno = 0;
	assert_int_equal(f->be->trim(conn, 512, 0, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(f->be->flush(conn, 0), 0);
	f->be->close_conn(conn);
	f->be->close_export(exp);
	assert_reads_pattern(f, 0, sizeof(buf), 18);
}

static void test_read_only_connection(void **state)
{
	struct fixture *f = *state;
	char buf[512] = { 1 };
	void *conn = f->be->open_conn(f->exp, true);

	assert_non_null(conn);
	errno = 0;
	assert_int_equal(f->be->pwrite(conn, buf, sizeof(buf), 0, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(f->be->pread(conn, buf, sizeof(buf), 0, 0), 0);
	f->be->close_conn(conn);
	assert_reads_zeros(f, 0, sizeof(buf));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_descriptor),
		T(test_unknown_param_refused),
		T(test_path_required),
		T(test_missing_file),
		T(test_directory_refused),
		T(test_character_device_refused),
		T(test_round_trip),
		T(test_nowait),
		cmocka_unit_test_setup_teardown(test_nowait_tmpfs, setup_tmpfs, teardown),
		T(test_fua_write_and_flush),
		T(test_writes_reach_the_file),
		T(test_read_past_end),
		T(test_cache),
		T(test_trim_reads_zeros_and_frees),
		T(test_trim_unsupported_is_harmless),
		T(test_zero_keeps_allocation),
		T(test_zero_may_trim_punches),
		T(test_zero_falls_back_to_writing),
		T(test_fast_zero_refused_when_slow),
		T(test_fast_zero_when_fast),
		T(test_extents_sparse_file),
		T(test_extents_mid_range),
		T(test_extents_req_one),
		T(test_extents_after_trim),
		T(test_unwritable_file_served_read_only),
		T(test_read_only_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
