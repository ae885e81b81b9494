/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/common/parse.h: sizes, booleans, bounded integers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cnbd/backend.h"
#include "common/parse.h"

static int64_t size_ok(const char *s)
{
	int64_t v = -12345;

	if (parse_size(s, &v) != 0)
		fail_msg("parse_size(\"%s\") refused a valid size", s);
	return v;
}

static void size_bad(const char *s)
{
	int64_t v = -12345;

	if (parse_size(s, &v) != -1)
		fail_msg("parse_size(\"%s\") accepted it as %lld", s ? s : "(null)",
			 (long long)v);
	/* A refused value leaves the output alone. */
	assert_int_equal(v, -12345);
}

static void test_size_plain(void **state)
{
	(void)state;
	assert_int_equal(size_ok("0"), 0);
	assert_int_equal(size_ok("1"), 1);
	assert_int_equal(size_ok("512"), 512);
	assert_int_equal(size_ok("1000000"), 1000000);
	assert_int_equal(size_ok("0000"), 0);
}

static void test_size_every_suffix(void **state)
{
	static const struct { const char *s; int64_t v; } cases[] = {
		{ "1k", 1024 }, { "1K", 1024 }, { "64K", 65536 },
		{ "3m", 3 * 1048576LL }, { "64M", 64 * 1048576LL },
		{ "1g", 1073741824LL }, { "2G", 2147483648LL },
		{ "1t", 1099511627776LL }, { "5T", 5 * 1099511627776LL },
		{ "1p", 1125899906842624LL }, { "2P", 2 * 1125899906842624LL },
		{ "64KiB", 65536 }, { "64kib", 65536 }, { "64KB", 65536 },
		{ "64Ki", 65536 }, { "10MiB", 10 * 1048576LL },
		{ "1GiB", 1073741824LL }, { "1TB", 1099511627776LL },
		{ "0K", 0 }, { "0G", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = size_ok(cases[i].s);
		if (v != cases[i].v)
			fail_msg("parse_size(\"%s\") = %lld, want %lld", cases[i].s,
				 (long long)v, (long long)cases[i].v);
	}
}

static void test_size_refused(void **state)
{
	static const char *const bad[] = {
		"", "K", "G", "1.5G", "1.5", "1,5G", "-1", "-1K", "+1", "+64K",
		"-0", "12X", "12E", "1KK", "1KiBB", "1iB", "1B", "1 K", "12 ",
		"0x10", "ten", "1e3", "64K extra", "1Gi B",
	};

	(void)state;
	size_bad(NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		size_bad(bad[i]);
}

static void test_size_overflow(void **state)
{
	(void)state;
	/* INT64_MAX is the largest size, in any spelling. */
	assert_int_equal(size_ok("9223372036854775807"), INT64_MAX);
	size_bad("9223372036854775808");
	size_bad("18446744073709551615");
	size_bad("18446744073709551616");
	size_bad("99999999999999999999999999");
	/* 8191 PiB fits in 63 bits, 8192 PiB is 2^63 and does not. */
	assert_int_equal(size_ok("8191P"), 8191LL << 50);
	size_bad("8192P");
	size_bad("8388608T");
	assert_int_equal(size_ok("8388607T"), 8388607LL << 40);
	size_bad("8589934592G");
	assert_int_equal(size_ok("8589934591G"), 8589934591LL << 30);
	/* Wrapping to a small value after the shift must not happen. */
	size_bad("16777216P");
	size_bad("18014398509481984K");
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "1", "true", "TRUE", "True", "yes",
					   "YES", "on", "On" };
	static const char *const no[] = { "0", "false", "FALSE", "no", "No",
					  "off", "OFF" };
	static const char *const bad[] = { "", "2", "-1", "truee", "y", "n",
					   "enable", " true", "yes ", "t", "nope" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (parse_bool(yes[i]) != 1)
			fail_msg("parse_bool(\"%s\") is not 1", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (parse_bool(no[i]) != 0)
			fail_msg("parse_bool(\"%s\") is not 0", no[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_bool(bad[i]) != -1)
			fail_msg("parse_bool(\"%s\") is not -1", bad[i]);
	assert_int_equal(parse_bool(NULL), -1);
}

static void test_uint(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_uint("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("42", 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_uint("0x10", 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(parse_uint("0XfF", 1000, &v), 0);
	assert_int_equal(v, 255);
	/* The bound is inclusive. */
	assert_int_equal(parse_uint("100", 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);

	v = 7;
	assert_int_equal(parse_uint("101", 100, &v), -1);
	assert_int_equal(parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("-1", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("+1", 100, &v), -1);
	assert_int_equal(parse_uint("", 100, &v), -1);
	assert_int_equal(parse_uint(NULL, 100, &v), -1);
	assert_int_equal(parse_uint("12a", 100, &v), -1);
	assert_int_equal(parse_uint("1.0", 100, &v), -1);
	assert_int_equal(parse_uint("4K", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("0x", 100, &v), -1);
	assert_int_equal(v, 7);
}

/* parse.h promises decimal or 0x hex: a leading zero must not silently
 * switch to octal ("010" is ten, or refused, but never eight). */
static void test_uint_leading_zero_is_not_octal(void **state)
{
	uint64_t v = 0;
	int rc;

	(void)state;
	rc = parse_uint("010", 100, &v);
	if (rc == 0 && v != 10)
		fail_msg("parse_uint(\"010\") = %llu: read as octal", (unsigned long long)v);
	rc = parse_uint("09", 100, &v);
	if (rc == 0 && v != 9)
		fail_msg("parse_uint(\"09\") = %llu", (unsigned long long)v);
	if (rc != 0)
		fail_msg("parse_uint(\"09\") refused a decimal number with a leading zero");
}

static void test_percent_escape(void **state)
{
	const char *s = "a%41%7e%7E%00%g1%4";

	(void)state;
	assert_int_equal(parse_percent_escape(s, strlen(s), 1), 'A');
	assert_int_equal(parse_percent_escape(s, strlen(s), 4), '~');
	assert_int_equal(parse_percent_escape(s, strlen(s), 7), '~');	/* either case */
	assert_int_equal(parse_percent_escape(s, strlen(s), 10), 0);
	assert_int_equal(parse_percent_escape(s, strlen(s), 13), -1);	/* not hex */
	assert_int_equal(parse_percent_escape(s, strlen(s), 16), -1);	/* cut short */
	assert_int_equal(parse_percent_escape("%41", 2, 0), -1);	/* past len */
}

static void test_host_parse_size(void **state)
{
	(void)state;
	assert_int_equal(cnbd_parse_size("size", "64M"), 64 * 1048576LL);
	errno = 0;
	assert_int_equal(cnbd_parse_size("size", "1.5G"), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(cnbd_parse_size("size", NULL), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_host_parse_bool(void **state)
{
	(void)state;
	assert_int_equal(cnbd_parse_bool("readonly", "yes"), 1);
	assert_int_equal(cnbd_parse_bool("readonly", "off"), 0);
	errno = 0;
	assert_int_equal(cnbd_parse_bool("readonly", "maybe"), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_plain),
		cmocka_unit_test(test_size_every_suffix),
		cmocka_unit_test(test_size_refused),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_uint_leading_zero_is_not_octal),
		cmocka_unit_test(test_percent_escape),
		cmocka_unit_test(test_host_parse_size),
		cmocka_unit_test(test_host_parse_bool),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
