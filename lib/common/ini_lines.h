/* SPDX-License-Identifier: MIT */
/*
 * inih with line numbers. inih tells its handler neither the line of a
 * key nor that a [section] header was read, and it quietly merges a
 * section given twice and truncates a long section name. The line reader
 * below sees every line before inih does, so it numbers them, reports
 * headers, and refuses what inih would accept in silence.
 */
#ifndef CNBD_INI_LINES_H
#define CNBD_INI_LINES_H

#include <stddef.h>

/* inih keeps section names in a 50-byte buffer. */
#define INI_MAX_SECTION_NAME	49

/*
 * The callbacks of the _ex functions return 0 to go on, or -1 to stop
 * with the reason written into err (the caller prefixes "file:line: ").
 * Either may be NULL.
 */
struct ini_callbacks {
	/* A [section] header. Only valid headers get here: a name given
	 * before, an empty one or one longer than INI_MAX_SECTION_NAME is
	 * refused by the reader itself. */
	int (*section)(void *user, const char *section, int line,
		       char *err, size_t errlen);
	/* A key = value line; section is "" before any header. */
	int (*key)(void *user, const char *section, const char *key,
		   const char *value, int line, char *err, size_t errlen);
};

/* Parses path. 0 on success; -1 with "path:line: reason" in err (also
 * for syntax errors; "path: reason" when it cannot be opened). */
int ini_parse_lines_ex(const char *path, const struct ini_callbacks *cb,
		       void *user, char *err, size_t errlen);
/* The same for text in memory (named name in messages). */
int ini_parse_lines_string_ex(const char *name, const char *text,
			      const struct ini_callbacks *cb, void *user,
			      char *err, size_t errlen);

/*
 * The first interface, kept for its users: a handler told neither its
 * line nor the headers, returning 0 to stop with an error and nonzero to
 * go on (inih's convention). It checks no section names.
 */
typedef int (*ini_line_handler)(void *user, const char *section,
				const char *key, const char *value,
				char *err, size_t errlen);

int ini_parse_lines(const char *path, ini_line_handler handler, void *user,
		    char *err, size_t errlen);
int ini_parse_lines_string(const char *name, const char *text,
			   ini_line_handler handler, void *user,
			   char *err, size_t errlen);

#endif
