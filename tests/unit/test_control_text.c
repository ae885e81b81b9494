/* SPDX-License-Identifier: MIT */
/* The control protocol's escaping: anything survives a round trip as
 * one word, and bad escapes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/control_text.h"

static void test_round_trip(void **state)
{
	static const char *const values[] = {
		"disk", "", "vm one", "100%", "a=b", "tab\there", "new\nline",
		"\x7f\x80\xff", "nbd://h/x%20y",
	};
	char esc[256], back[256];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(control_escape(values[i], esc, sizeof(esc)), 0);
		assert_null(strpbrk(esc, " \t\n="));
		assert_int_equal(control_unescape(esc, back, sizeof(back)), 0);
		assert_string_equal(back, values[i]);
	}
	assert_int_equal(control_escape("a b", esc, sizeof(esc)), 0);
	assert_string_equal(esc, "a%20b");
}

static void test_limits(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(control_escape("abcd", out, sizeof(out)), -1);
	assert_int_equal(control_escape("  ", out, sizeof(out)), -1);
	assert_int_equal(control_unescape("%2", out, sizeof(out)), -1);
	assert_int_equal(control_unescape("%zz", out, sizeof(out)), -1);
	assert_int_equal(control_unescape("%00", out, sizeof(out)), -1);
	assert_int_equal(control_unescape("abcd", out, sizeof(out)), -1);
}

static void test_fields(void **state)
{
	const char *line = "device=nbd0 state=connected uri=nbd://h/a%20b export=a%20b error=";
	char v[64];

	(void)state;
	assert_int_equal(control_field(line, "device", v, sizeof(v)), 0);
	assert_string_equal(v, "nbd0");
	assert_int_equal(control_field(line, "export", v, sizeof(v)), 0);
	assert_string_equal(v, "a b");
	assert_int_equal(control_field(line, "uri", v, sizeof(v)), 0);
	assert_string_equal(v, "nbd://h/a b");
	assert_int_equal(control_field(line, "error", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(control_field(line, "size", v, sizeof(v)), -1);
	/* A key is matched whole, not as a prefix of another. */
	assert_int_equal(control_field(line, "dev", v, sizeof(v)), -1);
	assert_int_equal(control_field(line, "state", v, sizeof(v)), 0);
	assert_string_equal(v, "connected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
