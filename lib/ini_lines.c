/* SPDX-License-Identifier: MIT */
/*
 * inih calls its reader once per line and the handler right after parsing
 * that line, so a reader that counts lines knows the line of every key.
 * inih reads at most ini_max_line bytes at a time; a longer line would be
 * split and misnumbered, so the reader refuses it instead.
 */
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ini_lines.h"

struct line_reader {
	const char *name;
	FILE *file;		/* either a file ... */
	const char *text;	/* ... or text in memory */
	int lineno;
	bool line_too_long;
	bool failed;
	ini_line_handler handler;
	void *user;
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

static char *read_counted_line(char *buf, int size, void *stream)
{
	struct line_reader *r = stream;
	char *line = next_line(buf, size, r);
	size_t len;

	if (!line || r->line_too_long)
		return NULL;
	r->lineno++;
	len = strlen(line);
	if (len == (size_t)size - 1 && line[len - 1] != '\n') {
		/* More of this line remains: stop here and report it. */
		r->line_too_long = true;
		return NULL;
	}
	return line;
}

static int handle_key(void *user, const char *section, const char *key,
		      const char *value)
{
	struct line_reader *r = user;
	char reason[512] = "";

	if (r->failed)
		return 0;
	if (r->handler(r->user, section, key, value, reason, sizeof(reason)))
		return 1;
	r->failed = true;
	snprintf(r->err, r->errlen, "%s:%d: %s", r->name, r->lineno,
		 reason[0] ? reason : "invalid line");
	return 0;
}

static int parse(struct line_reader *r)
{
	int rc;

	/* Continuation lines would make line numbers lie. */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	rc = ini_parse_stream(read_counted_line, r, handle_key, r);
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

int ini_parse_lines(const char *path, ini_line_handler handler, void *user,
		    char *err, size_t errlen)
{
	struct line_reader r = { .name = path, .handler = handler, .user = user,
				 .err = err, .errlen = errlen };
	int rc;

	r.file = fopen(path, "re");
	if (!r.file) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = parse(&r);
	fclose(r.file);
	return rc;
}

int ini_parse_lines_string(const char *name, const char *text,
			   ini_line_handler handler, void *user,
			   char *err, size_t errlen)
{
	struct line_reader r = { .name = name, .text = text, .handler = handler,
				 .user = user, .err = err, .errlen = errlen };

	return parse(&r);
}
