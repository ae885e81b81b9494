/* SPDX-License-Identifier: MIT */
/*
 * inih calls its reader once per line and parses that line before asking
 * for the next, so a reader that counts lines knows the line of every key
 * the handler gets, and sees each [section] header before inih does.
 * inih reads at most ini_max_line bytes at a time; a longer line would be
 * split and misnumbered, so the reader refuses it instead.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ini_lines.h"

struct header {
	char name[INI_MAX_SECTION_NAME + 1];
	int line;
};

struct line_reader {
	const char *name;
	FILE *file;		/* either a file ... */
	const char *text;	/* ... or text in memory */
	int lineno;
	bool line_too_long;
	bool failed;		/* err holds the reason */
	bool check_sections;	/* the _ex interface */
	const struct ini_callbacks *cb;
	void *user;
	struct header *headers;	/* every header so far, for duplicates */
	size_t nheaders;
	char *err;
	size_t errlen;
};

static char *next_line(char *buf, int size, struct line_reader *r)
{
	if (r->file)
		return fgets(buf, size, r->file);
	if (!r->text || !*r->text)
		return NULL;
	const char *nl = strchr(r->text, '\n');
	size_t len = nl ? (size_t)(nl - r->text) + 1 : strlen(r->text);
	if (len > (size_t)size - 1)
		len = size - 1;
	memcpy(buf, r->text, len);
	buf[len] = '\0';
	r->text += len;
	return buf;
}

/* Records "name:line: reason" and stops the parse. */
static void fail_at(struct line_reader *r, const char *reason)
{
	r->failed = true;
	snprintf(r->err, r->errlen, "%s:%d: %s", r->name, r->lineno,
		 reason[0] ? reason : "invalid line");
}

/* Where inih ends a section name: at ']' or at an inline comment (a
 * prefix character after a blank). NULL when it finds no ']'. */
static const char *header_end(const char *s)
{
	bool was_space = false;

	for (; *s; s++) {
		if (*s == ']')
			return s;
		if (ini_allow_inline_comments && was_space &&
		    strchr(ini_inline_comment_prefixes, *s))
			return NULL;
		was_space = isspace((unsigned char)*s);
	}
	return NULL;
}

static int first_line_of(const struct line_reader *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcmp(r->headers[i].name, name))
			return r->headers[i].line;
	return 0;
}

/* Judges a header line; 0, or -1 with the reason in reason. */
static int check_header(struct line_reader *r, const char *start, size_t len,
			char *reason, size_t rlen)
{
	struct header *h;
	int first;

	if (!len) {
		snprintf(reason, rlen, "empty section name");
		return -1;
	}
	if (len > INI_MAX_SECTION_NAME) {
		snprintf(reason, rlen, "section name longer than %d characters",
			 INI_MAX_SECTION_NAME);
		return -1;
	}
	h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
	if (!h) {
		snprintf(reason, rlen, "out of memory");
		return -1;
	}
	r->headers = h;
	h = &h[r->nheaders];
	memcpy(h->name, start, len);
	h->name[len] = '\0';
	h->line = r->lineno;
	first = first_line_of(r, h->name);
	if (first) {
		snprintf(reason, rlen, "section [%s] given twice (first on line %d)",
			 h->name, first);
		return -1;
	}
	r->nheaders++;
	if (r->cb->section)
		return r->cb->section(r->user, h->name, r->lineno, reason, rlen);
	return 0;
}

/* A [section] line as inih will read it; anything else passes. */
static int scan_header(struct line_reader *r, const char *line)
{
	char reason[512] = "";
	const char *end;

	if (r->lineno == 1 && ini_allow_bom && !strncmp(line, "\xEF\xBB\xBF", 3))
		line += 3;
	while (isspace((unsigned char)*line))
		line++;
	if (*line != '[')
		return 0;
	end = header_end(line + 1);
	if (!end)
		return 0;	/* inih reports the syntax error */
	if (check_header(r, line + 1, end - line - 1, reason, sizeof(reason)) < 0) {
		fail_at(r, reason);
		return -1;
	}
	return 0;
}

static char *read_counted_line(char *buf, int size, void *stream)
{
	struct line_reader *r = stream;
	char *line;
	size_t len;

	if (r->line_too_long || r->failed)
		return NULL;
	line = next_line(buf, size, r);
	if (!line)
		return NULL;
	r->lineno++;
	len = strlen(line);
	if (len == (size_t)size - 1 && line[len - 1] != '\n') {
		/* More of this line remains: stop here and report it. */
		r->line_too_long = true;
		return NULL;
	}
	if (r->check_sections && scan_header(r, line) < 0)
		return NULL;
	return line;
}

static int handle_key(void *user, const char *section, const char *key,
		      const char *value)
{
	struct line_reader *r = user;
	char reason[512] = "";

	if (r->failed)
		return 0;
	if (!r->cb->key ||
	    r->cb->key(r->user, section, key, value, r->lineno, reason, sizeof(reason)) == 0)
		return 1;
	fail_at(r, reason);
	return 0;
}

static int parse(struct line_reader *r)
{
	int rc;

	/* Continuation lines would make line numbers lie. */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	rc = ini_parse_stream(read_counted_line, r, handle_key, r);
	free(r->headers);
	r->headers = NULL;
	if (r->line_too_long) {
		snprintf(r->err, r->errlen, "%s:%d: line longer than %d characters",
			 r->name, r->lineno, ini_max_line - 3);
		return -1;
	}
	if (r->failed)
		return -1;
	if (rc > 0) {
		snprintf(r->err, r->errlen,
			 "%s:%d: syntax error (expected [section], key = value, or a comment)",
			 r->name, r->lineno);
		return -1;
	}
	if (rc < 0) {
		snprintf(r->err, r->errlen, "%s: cannot parse (out of memory)", r->name);
		return -1;
	}
	return 0;
}

static int parse_file(struct line_reader *r, const char *path)
{
	int rc;

	r->file = fopen(path, "re");
	if (!r->file) {
		snprintf(r->err, r->errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = parse(r);
	fclose(r->file);
	return rc;
}

int ini_parse_lines_ex(const char *path, const struct ini_callbacks *cb,
		       void *user, char *err, size_t errlen)
{
	struct line_reader r = { .name = path, .cb = cb, .user = user,
				 .check_sections = true, .err = err, .errlen = errlen };

	return parse_file(&r, path);
}

int ini_parse_lines_string_ex(const char *name, const char *text,
			      const struct ini_callbacks *cb, void *user,
			      char *err, size_t errlen)
{
	struct line_reader r = { .name = name, .text = text, .cb = cb, .user = user,
				 .check_sections = true, .err = err, .errlen = errlen };

	return parse(&r);
}

/* The first interface on top of the second. */
struct old_handler {
	ini_line_handler fn;
	void *user;
};

static int old_key(void *user, const char *section, const char *key,
		   const char *value, int line, char *err, size_t errlen)
{
	const struct old_handler *h = user;

	(void)line;
	return h->fn(h->user, section, key, value, err, errlen) ? 0 : -1;
}

static const struct ini_callbacks old_callbacks = { .key = old_key };

int ini_parse_lines(const char *path, ini_line_handler handler, void *user,
		    char *err, size_t errlen)
{
	struct old_handler h = { handler, user };
	struct line_reader r = { .name = path, .cb = &old_callbacks, .user = &h,
				 .err = err, .errlen = errlen };

	return parse_file(&r, path);
}

int ini_parse_lines_string(const char *name, const char *text,
			   ini_line_handler handler, void *user,
			   char *err, size_t errlen)
{
	struct old_handler h = { handler, user };
	struct line_reader r = { .name = name, .text = text, .cb = &old_callbacks,
				 .user = &h, .err = err, .errlen = errlen };

	return parse(&r);
}
