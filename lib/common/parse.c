/* SPDX-License-Identifier: MIT */
/* Parsing of configuration values shared by the server, the client and
 * backends: sizes with suffixes and booleans. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cnbd/backend.h"
#include "common/parse.h"

int parse_size(const char *value, int64_t *out)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	if (!value || !*value || *value == '-' || *value == '+')
		return -1;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno || end == value)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case 'p': case 'P': shift = 50; end++; break;
	default: return -1;
	}
	/* Accept "64KiB" and "64KB" as well as "64K". */
	if (shift && (*end == 'i' || *end == 'I'))
		end++;
	if (shift && (*end == 'b' || *end == 'B'))
		end++;
	if (*end)
		return -1;
	if (n > (unsigned long long)INT64_MAX >> shift)
		return -1;
	*out = (int64_t)(n << shift);
	return 0;
}

int parse_bool(const char *value)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	if (!value)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(value, yes[i]))
			return 1;
		if (!strcasecmp(value, no[i]))
			return 0;
	}
	return -1;
}

int parse_uint(const char *value, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!value || !*value || *value == '-' || *value == '+')
		return -1;
	/* Base 10 unless it says 0x: "010" in a config file means ten. */
	int base = 10;
	const char *digits = value;

	if (value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) {
		base = 16;
		digits = value + 2;
	}
	/* strtoull would take spaces and a sign after the prefix. */
	if (!isxdigit((unsigned char)*digits))
		return -1;
	errno = 0;
	n = strtoull(digits, &end, base);
	if (errno || *end || n > max)
		return -1;
	*out = n;
	return 0;
}

int64_t cnbd_parse_size(const char *what, const char *value)
{
	int64_t n;

	if (parse_size(value, &n) < 0) {
		cnbd_error("%s: '%s' is not a size (a number with an optional K, M, G or T suffix)",
			   what, value ? value : "");
		errno = EINVAL;
		return -1;
	}
	return n;
}

int cnbd_parse_bool(const char *what, const char *value)
{
	int b = parse_bool(value);

	if (b < 0) {
		cnbd_error("%s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
			   what, value ? value : "");
		errno = EINVAL;
	}
	return b;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_percent_escape(const char *s, size_t len, size_t i)
{
	int hi, lo;

	if (i + 2 >= len)
		return -1;
	hi = hex_digit((unsigned char)s[i + 1]);
	lo = hex_digit((unsigned char)s[i + 2]);
	return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}
