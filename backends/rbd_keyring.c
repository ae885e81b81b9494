/* SPDX-License-Identifier: MIT */
/*
 * rbd: the secret out of a Ceph keyring's text.
 *
 * A keyring is INI-like:
 *
 *	[client.admin]
 *		key = AQBx...==
 *		caps mon = "allow *"
 *
 * Only the key of one entity is wanted, so this is a small line scanner
 * rather than a full parser: sections, "key = value" (quotes allowed),
 * comments with '#' or ';'. A file holding nothing but one base64 token
 * (what Ceph's keyfile= option reads) is taken as the key too.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rbd.h"

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *trim_end(const char *start, const char *end)
{
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	return end;
}

/* [section] on [p, end): does it name entity? */
static bool section_is(const char *p, const char *end, const char *entity)
{
	const char *close = memchr(p, ']', end - p);
	size_t len;

	if (!close)
		return false;
	p = skip_space(p + 1, close);
	len = trim_end(p, close) - p;
	return len == strlen(entity) && !strncmp(p, entity, len);
}

/* "key = value" on [p, end): the value, unquoted, or NULL. */
static char *key_value(const char *p, const char *end)
{
	const char *v;

	if (end - p < 3 || strncmp(p, "key", 3))
		return NULL;
	v = skip_space(p + 3, end);
	if (v == end || *v != '=')
		return NULL;	/* "keyfoo = ..." or "key" alone */
	v = skip_space(v + 1, end);
	end = trim_end(v, end);
	if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v) {
		v++;
		end--;
	}
	if (v == end)
		return NULL;
	return strndup(v, end - v);
}

static bool is_base64(const char *p, const char *end)
{
	while (p < end && (isalnum((unsigned char)*p) || *p == '+' || *p == '/'))
		p++;
	while (p < end && *p == '=')	/* padding, only at the end */
		p++;
	return p == end;
}

/* The whole text is one base64 token: a bare key. */
static char *bare_key(const char *text)
{
	const char *end = text + strlen(text);
	const char *p = skip_space(text, end);

	end = trim_end(p, end);
	if (p == end || !is_base64(p, end))
		return NULL;
	return strndup(p, end - p);
}

char *rbd_keyring_find(const char *text, const char *entity)
{
	const char *line = text, *end, *next, *p;
	bool in_entity = false, any_section = false;
	char *key;

	for (; *line; line = next) {
		end = strchr(line, '\n');
		next = end ? end + 1 : line + strlen(line);
		end = end ? end : next;
		p = skip_space(line, end);
		if (p == end || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			any_section = true;
			in_entity = section_is(p, end, entity);
			continue;
		}
		if (in_entity && (key = key_value(p, end)))
			return key;
	}
	return any_section ? NULL : bare_key(text);
}
