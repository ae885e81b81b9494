/* SPDX-License-Identifier: MIT */
/*
 * The memory backend, called directly (linked with backends/memory.o).
 * Its promises: data is shared by every process forked after the export
 * was opened, pages are only allocated where written, and trim/zero give
 * them back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cnbd/backend.h"
#include "engine/extents.h"

#define KiB	1024ULL
#define MiB	(1024 * KiB)
#define HOLE	(CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO)

const struct cnbd_backend *cnbd_backend_entry(void);
void __wrap_cnbd_error(const char *fmt, ...);

static char last_error[512];

void __wrap_cnbd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

struct fixture {
	const struct cnbd_backend *be;
	void *exp;
};

static void *open_size(const struct cnbd_backend *be, const char *size)
{
	struct cnbd_param p[] = { { "size", size } };

	return be->open_export(p, 1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->be = cnbd_backend_entry();
	f->exp = open_size(f->be, "16M");
	assert_non_null(f->exp);
	last_error[0] = '\0';
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->be->close_export(f->exp);
	free(f);
	return 0;
}

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
	assert_int_equal(f->be->pwrite(f->exp, buf, len, offset, 0), 0);
	free(buf);
}

/* 0 when [offset, offset + len) holds the pattern: usable in a child. */
static int check_pattern(struct fixture *f, uint64_t offset, uint32_t len,
			 unsigned seed)
{
	char *want = malloc(len), *got = malloc(len);
	int r = -1;

	if (!want || !got)
		goto out;
	fill(want, len, seed, offset);
	if (f->be->pread(f->exp, got, len, offset, 0) == 0)
		r = memcmp(got, want, len) ? -1 : 0;
out:
	free(want);
	free(got);
	return r;
}

static void assert_reads_zeros(struct fixture *f, uint64_t offset, uint32_t len)
{
	char *got = malloc(len), *zero = calloc(1, len);

	assert_non_null(got);
	assert_non_null(zero);
	memset(got, 0xa5, len);
	assert_int_equal(f->be->pread(f->exp, got, len, offset, 0), 0);
	assert_memory_equal(got, zero, len);
	free(got);
	free(zero);
}

static struct cnbd_extents *get_extents(struct fixture *f, uint64_t offset,
					uint32_t count, uint32_t flags)
{
	struct cnbd_extents *e = extents_new(offset, count, flags & CNBD_REQ_ONE);

	assert_non_null(e);
	assert_int_equal(f->be->extents(f->exp, count, offset, flags, e), 0);
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

/* The whole disk is one hole: nothing is allocated. */
static void assert_all_hole(struct fixture *f, uint64_t size)
{
	struct cnbd_extents *e = get_extents(f, 0, size, 0);

	assert_int_equal(extents_count(e), 1);
	assert_extent(e, 0, 0, size, HOLE);
	extents_free(e);
}

/* ---- parameters ---- */

static void test_descriptor(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->be->name, "memory");
	/* NONBLOCKING: a memcpy never waits, so the server may run it inline. */
	assert_int_equal(f->be->flags, CNBD_BACKEND_PARALLEL |
			 CNBD_BACKEND_MULTI_CONN | CNBD_BACKEND_NATIVE_FUA |
			 CNBD_BACKEND_NONBLOCKING);
	assert_non_null(f->be->flush);
	assert_non_null(f->be->trim);
	assert_non_null(f->be->zero);
	assert_non_null(f->be->extents);
	assert_int_equal(f->be->get_size(f->exp), 16 * MiB);
}

static void test_default_size(void **state)
{
	struct fixture *f = *state;
	void *exp = f->be->open_export(NULL, 0);

	assert_non_null(exp);
	assert_int_equal(f->be->get_size(exp), 1024 * MiB);
	f->be->close_export(exp);
}

static void test_huge_sparse_size(void **state)
{
	struct fixture *f = *state;
	void *exp = open_size(f->be, "1T");
	struct fixture big = { .be = f->be, .exp = exp };

	/* Costs nothing until written. */
	assert_non_null(exp);
	assert_int_equal(f->be->get_size(exp), 1024 * 1024 * MiB);
	write_pattern(&big, 1024 * 1024 * MiB - 4096, 4096, 1);
	assert_int_equal(check_pattern(&big, 1024 * 1024 * MiB - 4096, 4096, 1), 0);
	f->be->close_export(exp);
}

static void test_bad_size_refused(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	assert_null(open_size(f->be, "lots"));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(last_error, "lots"));
}

static void test_unknown_param_refused(void **state)
{
	struct fixture *f = *state;
	struct cnbd_param p[] = { { "size", "1M" }, { "path", "/tmp/x" } };

	errno = 0;
	assert_null(f->be->open_export(p, 2));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(last_error, "path"));
}

static void test_zero_size(void **state)
{
	struct fixture *f = *state;
	void *exp = open_size(f->be, "0");
	char c;

	assert_non_null(exp);
	assert_int_equal(f->be->get_size(exp), 0);
	assert_int_equal(f->be->pwrite(exp, &c, 1, 0, 0), -1);
	assert_int_equal(errno, ENOSPC);
	f->be->close_export(exp);
}

/* ---- data ---- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;

	write_pattern(f, 0, 4096, 1);
	write_pattern(f, 12345, 100000, 2);
	write_pattern(f, 16 * MiB - 1, 1, 3);
	assert_int_equal(check_pattern(f, 0, 4096, 1), 0);
	assert_int_equal(check_pattern(f, 12345, 100000, 2), 0);
	assert_int_equal(check_pattern(f, 16 * MiB - 1, 1, 3), 0);
	assert_reads_zeros(f, 4096, 12345 - 4096);
	assert_int_equal(f->be->flush(f->exp, 0), 0);
	assert_int_equal(f->be->cache(f->exp, 4096, 0, 0), 0);
}

static void test_out_of_range(void **state)
{
	struct fixture *f = *state;
	char buf[8192] = { 0 };

	errno = 0;
	assert_int_equal(f->be->pwrite(f->exp, buf, sizeof(buf),
				       16 * MiB - 4096, 0), -1);
	assert_int_equal(errno, ENOSPC);
	errno = 0;
	assert_int_equal(f->be->pread(f->exp, buf, sizeof(buf),
				      16 * MiB - 4096, 0), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(f->be->zero(f->exp, 4096, 32 * MiB, 0), -1);
	assert_int_equal(errno, ENOSPC);
}

static void test_reading_allocates_nothing(void **state)
{
	struct fixture *f = *state;

	assert_all_hole(f, 16 * MiB);
	assert_reads_zeros(f, 0, 4 * MiB);
	assert_reads_zeros(f, 12 * MiB, 4 * MiB);
	assert_all_hole(f, 16 * MiB);
}

static void test_extents_exact(void **state)
{
	struct fixture *f = *state;
	struct cnbd_extents *e;

	write_pattern(f, 64 * KiB, 64 * KiB, 4);
	write_pattern(f, 1 * MiB, 4 * KiB, 5);
	e = get_extents(f, 0, 16 * MiB, 0);
	assert_int_equal(extents_count(e), 5);
	assert_extent(e, 0, 0, 64 * KiB, HOLE);
	assert_extent(e, 1, 64 * KiB, 64 * KiB, 0);
	assert_extent(e, 2, 128 * KiB, 1 * MiB - 128 * KiB, HOLE);
	assert_extent(e, 3, 1 * MiB, 4 * KiB, 0);
	assert_extent(e, 4, 1 * MiB + 4 * KiB, 15 * MiB - 4 * KiB, HOLE);
	extents_free(e);
	e = get_extents(f, 100 * KiB, 1 * MiB, CNBD_REQ_ONE);
	assert_int_equal(extents_count(e), 1);
	assert_extent(e, 0, 100 * KiB, 28 * KiB, 0);
	extents_free(e);
}

static void test_trim_frees_and_zeros(void **state)
{
	struct fixture *f = *state;

	write_pattern(f, 0, 1 * MiB, 6);
	assert_int_equal(f->be->trim(f->exp, 1 * MiB, 0, 0), 0);
	assert_reads_zeros(f, 0, 1 * MiB);
	assert_all_hole(f, 16 * MiB);
}

static void test_zero_with_and_without_may_trim(void **state)
{
	struct fixture *f = *state;
	struct cnbd_extents *e;

	write_pattern(f, 0, 256 * KiB, 7);
	assert_int_equal(f->be->zero(f->exp, 64 * KiB, 64 * KiB, 0), 0);
	assert_int_equal(f->be->zero(f->exp, 64 * KiB, 128 * KiB,
				     CNBD_MAY_TRIM | CNBD_FAST_ZERO), 0);
	assert_reads_zeros(f, 64 * KiB, 128 * KiB);
	assert_int_equal(check_pattern(f, 0, 64 * KiB, 7), 0);
	assert_int_equal(check_pattern(f, 192 * KiB, 64 * KiB, 7), 0);
	e = get_extents(f, 0, 256 * KiB, 0);
	assert_int_equal(extents_count(e), 3);
	assert_extent(e, 1, 64 * KiB, 128 * KiB, HOLE);
	extents_free(e);
	/* Unaligned: the partial pages keep their other bytes. */
	assert_int_equal(f->be->zero(f->exp, 100, 10, 0), 0);
	assert_reads_zeros(f, 10, 100);
	assert_int_equal(check_pattern(f, 0, 10, 7), 0);
	assert_int_equal(check_pattern(f, 110, 1000, 7), 0);
}

/* The memfd among this process's descriptors, -1 if there is none. */
static int find_memfd(void)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int fd = -1;
	ssize_t n;

	assert_non_null(dir);
	while (fd < 0 && (d = readdir(dir))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, "/memfd:cnbd-memory", 18))
			fd = atoi(d->d_name);
	}
	closedir(dir);
	return fd;
}

/* A worker must not be able to resize the disk under the others. */
static void test_size_is_sealed(void **state)
{
	struct fixture *f = *state;
	int fd = find_memfd();
	int seals;

	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	seals = fcntl(fd, F_GET_SEALS);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	errno = 0;
	assert_int_equal(ftruncate(fd, 4096), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 32 * MiB), -1);
	assert_int_equal(f->be->get_size(f->exp), 16 * MiB);
	/* Punching holes is still allowed (trim and zero need it). */
	write_pattern(f, 0, 4096, 11);
	assert_int_equal(f->be->trim(f->exp, 4096, 0, 0), 0);
	assert_reads_zeros(f, 0, 4096);
}

/* ---- sharing between processes ---- */

/* A worker: sees the parent's data, writes its own, trims the parent's. */
static int child_worker(struct fixture *f)
{
	char buf[64 * 1024];

	if (check_pattern(f, 4 * MiB, sizeof(buf), 8))
		return 2;
	fill(buf, sizeof(buf), 9, 8 * MiB);
	if (f->be->pwrite(f->exp, buf, sizeof(buf), 8 * MiB, 0))
		return 3;
	if (f->be->trim(f->exp, sizeof(buf), 4 * MiB, 0))
		return 4;
	return 0;
}

static void test_child_writes_parent_reads(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	write_pattern(f, 4 * MiB, 64 * KiB, 8);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_worker(f));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(check_pattern(f, 8 * MiB, 64 * KiB, 9), 0);
	assert_reads_zeros(f, 4 * MiB, 64 * KiB);
}

/* A client that reconnects gets a new worker: the data outlives the old. */
static void test_data_survives_workers(void **state)
{
	struct fixture *f = *state;
	int status;

	for (unsigned i = 0; i < 3; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			char buf[4096];

			if (i && check_pattern(f, (i - 1) * MiB, 4096, 10 + i - 1))
				_exit(2);
			fill(buf, sizeof(buf), 10 + i, i * MiB);
			_exit(f->be->pwrite(f->exp, buf, sizeof(buf), i * MiB, 0) ? 3 : 0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(check_pattern(f, i * MiB, 4096, 10 + i), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_descriptor),
		T(test_default_size),
		T(test_huge_sparse_size),
		T(test_bad_size_refused),
		T(test_unknown_param_refused),
		T(test_zero_size),
		T(test_round_trip),
		T(test_out_of_range),
		T(test_reading_allocates_nothing),
		T(test_extents_exact),
		T(test_trim_frees_and_zeros),
		T(test_zero_with_and_without_may_trim),
		T(test_size_is_sealed),
		T(test_child_writes_parent_reads),
		T(test_data_survives_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
