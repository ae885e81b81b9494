/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "common/control_text.h"
#include "common/parse.h"

static int must_escape(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || c == '%' || c == '=';
}

int control_escape(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	if (!outlen)
		return -1;
	for (; *in; in++) {
		unsigned char c = *in;
		size_t need = must_escape(c) ? 3 : 1;

		if (n + need >= outlen) {
			out[n] = '\0';
			return -1;
		}
		if (need == 3)
			n += sprintf(out + n, "%%%02X", c);
		else
			out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static int unescape_n(const char *in, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			c = parse_percent_escape(in, len, i);
			if (c <= 0)	/* not an escape, or %00 */
				return -1;
			i += 2;
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

int control_unescape(const char *in, char *out, size_t outlen)
{
	return unescape_n(in, strlen(in), out, outlen);
}

int control_field(const char *line, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = line;

	while (*p) {
		const char *end = strchr(p, ' ');

		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) && p[klen] == '=')
			return unescape_n(p + klen + 1, end - p - klen - 1, out, outlen);
		p = *end ? end + 1 : end;
	}
	return -1;
}
