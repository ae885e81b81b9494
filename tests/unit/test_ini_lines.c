/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/common/ini_lines.h: every key reaches the handler with the
 * line it stands on, errors name the right line, and the _ex interface
 * reports headers and refuses what inih would take silently. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/ini_lines.h"

#define MAX_SEEN 32

struct seen {
	int n;
	char section[MAX_SEEN][64];
	char key[MAX_SEEN][64];
	char value[MAX_SEEN][4096];
	const char *reject_key;		/* the handler refuses this key */
	const char *reason;		/* ... with this reason */
};

static int record(void *user, const char *section, const char *key,
		  const char *value, char *err, size_t errlen)
{
	struct seen *s = user;

	if (s->reject_key && !strcmp(key, s->reject_key)) {
		if (s->reason)
			snprintf(err, errlen, "%s", s->reason);
		return 0;
	}
	assert_true(s->n < MAX_SEEN);
	snprintf(s->section[s->n], sizeof(s->section[0]), "%s", section);
	snprintf(s->key[s->n], sizeof(s->key[0]), "%s", key);
	snprintf(s->value[s->n], sizeof(s->value[0]), "%s", value);
	s->n++;
	return 1;
}

/* Does err look like "name:line: ..." with this line? */
static void assert_err_line(const char *err, const char *name, int line)
{
	char want[256];

	snprintf(want, sizeof(want), "%s:%d: ", name, line);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
}

static void test_keys_sections_values(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("t.conf",
		"[server]\n"
		"listen = 127.0.0.1:10809\n"
		"listen = unix:/run/x.sock\n"
		"[disk]\n"
		"backend=memory\n"
		"description =  A disk with spaces   \n"
		"empty =\n",
		record, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.section[0], "server");
	assert_string_equal(s.key[0], "listen");
	assert_string_equal(s.value[0], "127.0.0.1:10809");
	/* Repeated keys each reach the handler. */
	assert_string_equal(s.key[1], "listen");
	assert_string_equal(s.value[1], "unix:/run/x.sock");
	assert_string_equal(s.section[2], "disk");
	assert_string_equal(s.value[2], "memory");
	assert_string_equal(s.value[3], "A disk with spaces");
	assert_string_equal(s.key[4], "empty");
	assert_string_equal(s.value[4], "");
}

/* The configuration format documents "key = value   ; comment". */
static void test_inline_comment(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("t.conf",
		"[server]\n"
		"listen = 127.0.0.1:1234      ; repeatable\n"
		"; a whole-line comment\n"
		"# another one\n"
		"user = nobody\n",
		record, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.value[0], "127.0.0.1:1234");
	assert_string_equal(s.value[1], "nobody");
}

/* The handler refuses the key on line 7: comments, blank lines and
 * section headers before it all count. */
static void test_line_after_comments_and_blanks(void **state)
{
	struct seen s = { .reject_key = "size", .reason = "bad size" };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("my.conf",
		"; comment\n"			/* 1 */
		"\n"				/* 2 */
		"[disk]\n"			/* 3 */
		"# comment\n"			/* 4 */
		"   \n"				/* 5 */
		"backend = memory\n"		/* 6 */
		"size = huge\n"			/* 7 */
		"readonly = true\n",		/* 8 */
		record, &s, err, sizeof(err)), -1);
	assert_err_line(err, "my.conf", 7);
	assert_non_null(strstr(err, "bad size"));
	/* Parsing stopped at the refused key. */
	assert_int_equal(s.n, 1);
}

static void test_reason_missing(void **state)
{
	struct seen s = { .reject_key = "k", .reason = NULL };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("x", "[a]\n\nk = v\n",
						record, &s, err, sizeof(err)), -1);
	assert_err_line(err, "x", 3);
	/* Something is said even when the handler said nothing. */
	assert_true(strlen(err) > strlen("x:3: "));
}

static void test_syntax_error_line(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("s.conf",
		"[server]\n"
		"listen = 1.2.3.4:5\n"
		"\n"
		"; fine so far\n"
		"this line has no equals sign\n"
		"user = nobody\n",
		record, &s, err, sizeof(err)), -1);
	assert_err_line(err, "s.conf", 5);
	/* Nothing after the error reached the handler. */
	assert_int_equal(s.n, 1);
}

static void test_unclosed_section(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("u.conf", "a = b\n[oops\nc = d\n",
						record, &s, err, sizeof(err)), -1);
	assert_err_line(err, "u.conf", 2);
}

static char *repeat(char c, size_t n)
{
	char *p = malloc(n + 1);

	assert_non_null(p);
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

static void test_too_long_line(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";
	char *v = repeat('x', 5000);
	char *text;

	(void)state;
	assert_true(asprintf(&text, "[a]\n; c\nk = v\n\nlong = %s\nafter = 1\n", v) > 0);
	assert_int_equal(ini_parse_lines_string("l.conf", text, record, &s,
						err, sizeof(err)), -1);
	assert_err_line(err, "l.conf", 5);
	assert_non_null(strstr(err, "long"));
	/* The tail of the long line was not taken for a line of its own. */
	assert_int_equal(s.n, 1);
	assert_string_equal(s.key[0], "k");
	free(text);
	free(v);
}

/* The limit the message states is a limit that holds: a line of exactly
 * that many characters is parsed whole, with LF or CRLF endings. */
static void test_stated_limit_is_accepted(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";
	char *v = repeat('y', 5000), *text, *line;
	regex_t re;
	regmatch_t m[2];
	int limit;

	(void)state;
	assert_true(asprintf(&text, "k = %s\n", v) > 0);
	assert_int_equal(ini_parse_lines_string("n", text, record, &s, err,
						sizeof(err)), -1);
	free(text);
	assert_int_equal(regcomp(&re, "longer than ([0-9]+)", REG_EXTENDED), 0);
	if (regexec(&re, err, 2, m, 0) != 0)
		fail_msg("the too-long message states no limit: %s", err);
	regfree(&re);
	limit = atoi(err + m[1].rm_so);
	assert_true(limit > 10 && limit < 5000);

	for (int crlf = 0; crlf < 2; crlf++) {
		memset(&s, 0, sizeof(s));
		line = repeat('z', limit);
		memcpy(line, "key = ", 6);
		assert_true(asprintf(&text, "[a]\n%s%s", line, crlf ? "\r\n" : "\n") > 0);
		if (ini_parse_lines_string("n", text, record, &s, err, sizeof(err)) != 0)
			fail_msg("a %d-character line (%s) was refused: %s", limit,
				 crlf ? "CRLF" : "LF", err);
		assert_int_equal(s.n, 1);
		assert_int_equal(strlen(s.value[0]), limit - 6);
		free(text);
		free(line);
	}
	free(v);
}

static void test_file_and_missing_file(void **state)
{
	char path[] = "/tmp/cnbd-ini-XXXXXX";
	struct seen s = { .reject_key = "bad", .reason = "no good" };
	char err[512] = "";
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("[x]\n\n# c\na = 1\nbad = 2\n", f);
	fclose(f);
	assert_int_equal(ini_parse_lines(path, record, &s, err, sizeof(err)), -1);
	assert_err_line(err, path, 5);
	assert_non_null(strstr(err, "no good"));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.value[0], "1");

	unlink(path);
	err[0] = '\0';
	assert_int_equal(ini_parse_lines(path, record, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
}

/* A file's lines are counted the same way as a string's, and parsing a
 * second file starts counting from 1 again. */
static void test_file_counting_restarts(void **state)
{
	char path[] = "/tmp/cnbd-ini-XXXXXX";
	struct seen s = { .reject_key = "bad" };
	char err[512] = "";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "bad = 1\n", 8), 8);
	close(fd);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ini_parse_lines(path, record, &s, err, sizeof(err)), -1);
		assert_err_line(err, path, 1);
	}
	unlink(path);
}

static void test_empty_and_no_trailing_newline(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("e", "", record, &s, err,
						sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(ini_parse_lines_string("e", "[a]\nk = last", record, &s,
						err, sizeof(err)), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.value[0], "last");
}

/* The _ex interface: headers and keys in order, each with its line. */
struct events {
	int n;
	char what[MAX_SEEN][80];	/* "[name]@line" or "section.key=value@line" */
	int stop_line;			/* a callback refuses this line */
};

static int ev_section(void *user, const char *section, int line, char *err, size_t errlen)
{
	struct events *e = user;

	if (line == e->stop_line) {
		snprintf(err, errlen, "no section here");
		return -1;
	}
	assert_true(e->n < MAX_SEEN);
	snprintf(e->what[e->n++], sizeof(e->what[0]), "[%s]@%d", section, line);
	return 0;
}

static int ev_key(void *user, const char *section, const char *key, const char *value,
		  int line, char *err, size_t errlen)
{
	struct events *e = user;

	if (line == e->stop_line) {
		snprintf(err, errlen, "no key here");
		return -1;
	}
	assert_true(e->n < MAX_SEEN);
	snprintf(e->what[e->n++], sizeof(e->what[0]), "%s.%s=%s@%d", section, key, value, line);
	return 0;
}

static const struct ini_callbacks ev_callbacks = { .section = ev_section, .key = ev_key };

static int parse_ex(const char *text, struct events *e, char *err, size_t errlen)
{
	return ini_parse_lines_string_ex("x.conf", text, &ev_callbacks, e, err, errlen);
}

static void test_ex_order_and_lines(void **state)
{
	struct events e = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(parse_ex("\xEF\xBB\xBF[a]\n"		/* 1: BOM skipped */
				  "k = 1\n"			/* 2 */
				  "; c\n"			/* 3 */
				  "  [empty]   ; comment\n"	/* 4 */
				  "\n"				/* 5 */
				  "[b c]\r\n"			/* 6 */
				  "k2: 2\r\n",			/* 7 */
				  &e, err, sizeof(err)), 0);
	assert_int_equal(e.n, 5);
	assert_string_equal(e.what[0], "[a]@1");
	assert_string_equal(e.what[1], "a.k=1@2");
	/* A section with no keys at all is still reported. */
	assert_string_equal(e.what[2], "[empty]@4");
	assert_string_equal(e.what[3], "[b c]@6");
	assert_string_equal(e.what[4], "b c.k2=2@7");
}

static void test_ex_duplicate_section(void **state)
{
	struct events e = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(parse_ex("[a]\nk = 1\n[b]\n\n[a]\nk = 2\n", &e, err, sizeof(err)), -1);
	assert_string_equal(err, "x.conf:5: section [a] given twice (first on line 1)");
	/* Nothing after the second header was handled. */
	assert_int_equal(e.n, 3);
	/* Names compare exactly: inih keeps blanks inside the brackets. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(parse_ex("[a]\n[ a]\n[A]\n", &e, err, sizeof(err)), 0);
	assert_int_equal(e.n, 3);
}

static void test_ex_bad_section_names(void **state)
{
	struct events e = { 0 };
	char err[512] = "", text[128];

	(void)state;
	assert_int_equal(parse_ex("[a]\nk = 1\n[]\n", &e, err, sizeof(err)), -1);
	assert_string_equal(err, "x.conf:3: empty section name");
	/* inih would keep 49 bytes of a longer name: refused instead. */
	snprintf(text, sizeof(text), "\n[%s]\n", "01234567890123456789012345678901234567890123456789");
	assert_int_equal(parse_ex(text, &e, err, sizeof(err)), -1);
	assert_string_equal(err, "x.conf:2: section name longer than 49 characters");
	memset(&e, 0, sizeof(e));
	snprintf(text, sizeof(text), "[%s]\n", "0123456789012345678901234567890123456789012345678");
	assert_int_equal(parse_ex(text, &e, err, sizeof(err)), 0);
	assert_int_equal(e.n, 1);
	/* "]" after an inline comment is no header: inih's syntax error. */
	assert_int_equal(parse_ex("[a ;x]\n", &e, err, sizeof(err)), -1);
	assert_string_equal(err, "x.conf:1: syntax error (expected [section], key = value, or a comment)");
}

static void test_ex_callbacks_stop(void **state)
{
	struct events e = { .stop_line = 3 };
	char err[512] = "";

	(void)state;
	assert_int_equal(parse_ex("[a]\nk = 1\n[b]\nk = 2\n", &e, err, sizeof(err)), -1);
	assert_string_equal(err, "x.conf:3: no section here");
	assert_int_equal(e.n, 2);
	memset(&e, 0, sizeof(e));
	e.stop_line = 4;
	assert_int_equal(parse_ex("[a]\nk = 1\n[b]\nk = 2\nk = 3\n", &e, err, sizeof(err)), -1);
	assert_string_equal(err, "x.conf:4: no key here");
	assert_int_equal(e.n, 3);
}

static void test_ex_file_and_null_callbacks(void **state)
{
	char path[] = "/tmp/cnbd-ini-XXXXXX";
	const struct ini_callbacks none = { 0 };
	struct events e = { .stop_line = 4 };
	char err[512] = "";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[x]\na = 1\n\nbad = 2\n[x]\n", 23), 23);
	close(fd);
	assert_int_equal(ini_parse_lines_ex(path, &ev_callbacks, &e, err, sizeof(err)), -1);
	assert_err_line(err, path, 4);
	/* Without callbacks the checks still hold. */
	assert_int_equal(ini_parse_lines_ex(path, &none, NULL, err, sizeof(err)), -1);
	assert_err_line(err, path, 5);
	assert_non_null(strstr(err, "given twice"));
	unlink(path);
	assert_int_equal(ini_parse_lines_ex(path, &none, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

/* The first interface checks no section names, as before. */
static void test_old_interface_unchanged(void **state)
{
	struct seen s = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(ini_parse_lines_string("o", "[a]\nk = 1\n[a]\nk = 2\n[]\nk = 3\n",
						record, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_sections_values),
		cmocka_unit_test(test_inline_comment),
		cmocka_unit_test(test_line_after_comments_and_blanks),
		cmocka_unit_test(test_reason_missing),
		cmocka_unit_test(test_syntax_error_line),
		cmocka_unit_test(test_unclosed_section),
		cmocka_unit_test(test_too_long_line),
		cmocka_unit_test(test_stated_limit_is_accepted),
		cmocka_unit_test(test_file_and_missing_file),
		cmocka_unit_test(test_file_counting_restarts),
		cmocka_unit_test(test_empty_and_no_trailing_newline),
		cmocka_unit_test(test_ex_order_and_lines),
		cmocka_unit_test(test_ex_duplicate_section),
		cmocka_unit_test(test_ex_bad_section_names),
		cmocka_unit_test(test_ex_callbacks_stop),
		cmocka_unit_test(test_ex_file_and_null_callbacks),
		cmocka_unit_test(test_old_interface_unchanged),
	};

	return cmocka_run_group_tests_name("ini_lines", tests, NULL, NULL);
}
