/* SPDX-License-Identifier: MIT */
/* lib/common/log_escape.c: what a peer's string becomes in a log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"

static void test_forms(void **state)
{
	char out[LOG_ESCAPE_SIZE];

	(void)state;
	assert_string_equal(log_escape("disk-1 a=b 'x'", out, sizeof(out)), "disk-1 a=b 'x'");
	assert_string_equal(log_escape("a\nb", out, sizeof(out)), "a\\nb");
	assert_string_equal(log_escape("\x1b[31m", out, sizeof(out)), "\\x1b[31m");
	assert_string_equal(log_escape("\\n", out, sizeof(out)), "\\x5cn");
	assert_string_equal(log_escape("\r\t\x7f\x80\xff", out, sizeof(out)),
			    "\\x0d\\x09\\x7f\\x80\\xff");
	assert_string_equal(log_escape("", out, sizeof(out)), "");
	assert_string_equal(log_escape(NULL, out, sizeof(out)), "");
}

/* Bounded: what does not fit ends in "...", never in half an escape. */
static void test_bounded(void **state)
{
	char out[12];

	(void)state;
	assert_string_equal(log_escape("0123456789A", out, sizeof(out)), "0123456789A");
	assert_string_equal(log_escape("0123456789AB", out, sizeof(out)), "01234567...");
	assert_string_equal(log_escape("0123\xff\xff", out, sizeof(out)), "0123\\xff...");
	assert_string_equal(log_escape("0123\xff\xff", out, 5), "0...");
	assert_string_equal(log_escape("abc", out, 4), "abc");
	assert_string_equal(log_escape("abcd", out, 4), "...");
	/* Too small even for the marker: nothing, rather than a cut that
	 * does not say so. */
	assert_string_equal(log_escape("abc", out, 3), "");
	assert_string_equal(log_escape("abc", out, 1), "");
}

/* The whole-line pass escapes control bytes only: an escaped string and
 * UTF-8 come through it unchanged. */
static void test_line(void **state)
{
	char out[LOG_ESCAPE_SIZE];

	(void)state;
	assert_string_equal(log_escape_line("a\\x1b \xc3\xa9\tb", out, sizeof(out)),
			    "a\\x1b \xc3\xa9\tb");
	assert_string_equal(log_escape_line("x\nforged\x1b[0m", out, sizeof(out)),
			    "x\\nforged\\x1b[0m");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_line),
	};

	return cmocka_run_group_tests_name("log_escape", tests, NULL, NULL);
}
