/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_scan.h"

struct scan_line {
	const char *start;	/* the line with blanks stripped both ends */
	size_t len;
	int lineno;
};

static void strip(struct scan_line *l)
{
	while (l->len && isspace((unsigned char)*l->start)) {
		l->start++;
		l->len--;
	}
	while (l->len && isspace((unsigned char)l->start[l->len - 1]))
		l->len--;
}

/* inih ends a section name at ']' or at an inline comment: a ';' that
 * follows a blank. Returns the length of the name, or -1 without ']'. */
static int section_name_len(const char *name, size_t avail)
{
	for (size_t i = 0; i < avail; i++) {
		if (name[i] == ']')
			return (int)i;
		if (name[i] == ';' && i && isspace((unsigned char)name[i - 1]))
			return -1;
	}
	return -1;
}

static int add_key_line(struct config_scan *scan, int lineno)
{
	int *lines = realloc(scan->key_lines, (scan->nkeys + 1) * sizeof(*lines));

	if (!lines)
		return -1;
	lines[scan->nkeys++] = lineno;
	scan->key_lines = lines;
	return 0;
}

static int add_section(struct config_scan *scan, const char *name, size_t len,
		       int lineno)
{
	struct config_section *s;

	s = realloc(scan->sections, (scan->nsections + 1) * sizeof(*s));
	if (!s)
		return -1;
	scan->sections = s;
	s = &scan->sections[scan->nsections];
	s->name = strndup(name, len);
	if (!s->name)
		return -1;
	s->line = lineno;
	scan->nsections++;
	return 0;
}

/* A [section] line: 0, or -1 with the reason in err. */
static int scan_section(struct config_scan *scan, const struct scan_line *l,
			const char *file, char *err, size_t errlen)
{
	int len = section_name_len(l->start + 1, l->len - 1);
	char name[CONFIG_MAX_SECTION_NAME + 1];
	int first;

	if (len < 0)
		return 0;	/* no ']': inih reports the syntax error */
	if (len == 0) {
		snprintf(err, errlen, "%s:%d: empty section name", file, l->lineno);
		return -1;
	}
	if (len > CONFIG_MAX_SECTION_NAME) {
		snprintf(err, errlen, "%s:%d: section name longer than %d characters",
			 file, l->lineno, CONFIG_MAX_SECTION_NAME);
		return -1;
	}
	memcpy(name, l->start + 1, len);
	name[len] = '\0';
	first = config_scan_section_line(scan, name);
	if (first) {
		snprintf(err, errlen, "%s:%d: section [%s] given twice (first on line %d)",
			 file, l->lineno, name, first);
		return -1;
	}
	if (add_section(scan, name, len, l->lineno) < 0) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	return 0;
}

static int scan_line(struct config_scan *scan, struct scan_line *l,
		     const char *file, char *err, size_t errlen)
{
	strip(l);
	if (!l->len || *l->start == ';' || *l->start == '#')
		return 0;
	if (*l->start == '[')
		return scan_section(scan, l, file, err, errlen);
	if (add_key_line(scan, l->lineno) < 0) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	return 0;
}

int config_scan(const char *name, const char *text, struct config_scan *scan,
		char *err, size_t errlen)
{
	const char *p = text;
	int lineno = 0;

	memset(scan, 0, sizeof(*scan));
	if (!strncmp(p, "\xEF\xBB\xBF", 3))
		p += 3;		/* inih skips a UTF-8 byte order mark */
	while (*p) {
		const char *nl = strchr(p, '\n');
		struct scan_line l = { .start = p, .len = nl ? (size_t)(nl - p) : strlen(p),
				       .lineno = ++lineno };

		/* inih's reader refuses longer lines; let it say so. */
		if (l.len > (size_t)ini_max_line - 2)
			return 0;
		if (scan_line(scan, &l, name, err, errlen) < 0)
			return -1;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

int config_scan_section_line(const struct config_scan *scan, const char *name)
{
	for (size_t i = 0; i < scan->nsections; i++)
		if (!strcmp(scan->sections[i].name, name))
			return scan->sections[i].line;
	return 0;
}

void config_scan_free(struct config_scan *scan)
{
	for (size_t i = 0; i < scan->nsections; i++)
		free(scan->sections[i].name);
	free(scan->sections);
	free(scan->key_lines);
	memset(scan, 0, sizeof(*scan));
}
