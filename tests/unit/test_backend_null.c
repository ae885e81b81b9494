/* SPDX-License-Identifier: MIT */
/* The null backend, called directly (linked with backends/null.o). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "cnbd/backend.h"
#include "engine/extents.h"

const struct cnbd_backend *cnbd_backend_entry(void);

static void *open_size(const char *size)
{
	struct cnbd_param p[] = { { "size", size } };

	return cnbd_backend_entry()->open_export(p, 1);
}

static void test_sizes(void **state)
{
	const struct cnbd_backend *be = cnbd_backend_entry();
	void *exp;

	(void)state;
	exp = be->open_export(NULL, 0);
	assert_non_null(exp);
	assert_int_equal(be->get_size(exp), 1LL << 30);
	be->close_export(exp);
	exp = open_size("100T");
	assert_non_null(exp);
	assert_int_equal(be->get_size(exp), 100LL << 40);
	be->close_export(exp);
	errno = 0;
	assert_null(open_size("-1"));
	assert_int_equal(errno, EINVAL);
}

static void test_unknown_param_refused(void **state)
{
	struct cnbd_param p[] = { { "sizes", "1G" } };

	(void)state;
	errno = 0;
	assert_null(cnbd_backend_entry()->open_export(p, 1));
	assert_int_equal(errno, EINVAL);
}

static void test_reads_zeros_discards_writes(void **state)
{
	const struct cnbd_backend *be = cnbd_backend_entry();
	void *exp = open_size("1M");
	char buf[4096], zero[4096] = { 0 };

	(void)state;
	assert_non_null(exp);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(be->pwrite(exp, buf, sizeof(buf), 0, CNBD_FUA), 0);
	assert_int_equal(be->flush(exp, 0), 0);
	assert_int_equal(be->pread(exp, buf, sizeof(buf), 0, 0), 0);
	assert_memory_equal(buf, zero, sizeof(buf));
	assert_int_equal(be->trim(exp, 4096, 0, 0), 0);
	assert_int_equal(be->zero(exp, 4096, 0, CNBD_FAST_ZERO), 0);
	assert_int_equal(be->cache(exp, 4096, 0, 0), 0);
	be->close_export(exp);
}

static void test_extents_all_hole(void **state)
{
	const struct cnbd_backend *be = cnbd_backend_entry();
	void *exp = open_size("1M");
	struct cnbd_extents *e = extents_new(4096, 65536, false);
	const struct cnbd_extent_entry *x;

	(void)state;
	assert_non_null(exp);
	assert_non_null(e);
	assert_int_equal(be->extents(exp, 65536, 4096, 0, e), 0);
	assert_int_equal(extents_count(e), 1);
	x = extents_get(e, 0);
	assert_int_equal(x->offset, 4096);
	assert_int_equal(x->length, 65536);
	assert_int_equal(x->type, CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO);
	extents_free(e);
	be->close_export(exp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_unknown_param_refused),
		cmocka_unit_test(test_reads_zeros_discards_writes),
		cmocka_unit_test(test_extents_all_hole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
