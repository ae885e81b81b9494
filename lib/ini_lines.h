/* SPDX-License-Identifier: MIT */
/* inih with line numbers: the handler learns on which line each key
 * stands, so that a bad value is reported as file:line: reason. */
#ifndef CNBD_INI_LINES_H
#define CNBD_INI_LINES_H

#include <stddef.h>

/* Returns 0 to stop with an error (the handler wrote the reason into
 * err), nonzero to go on. */
typedef int (*ini_line_handler)(void *user, const char *section,
				const char *key, const char *value,
				char *err, size_t errlen);

/* Parses path. 0 on success; -1 with "path:line: reason" in err (also
 * for syntax errors and files that cannot be opened). */
int ini_parse_lines(const char *path, ini_line_handler handler, void *user,
		    char *err, size_t errlen);
/* The same for text in memory (named name in messages). */
int ini_parse_lines_string(const char *name, const char *text,
			   ini_line_handler handler, void *user,
			   char *err, size_t errlen);

#endif
