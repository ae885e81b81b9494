/* SPDX-License-Identifier: MIT */
/*
 * nbdctl's tables for a terminal: columns as wide as their widest cell,
 * and under a row, when it has one, a note (the last error). Cells are
 * escaped as nbdctl_print_escaped does. Scripts get a stable form
 * instead (or --json): this one may change with what fits a reader.
 */
#ifndef CNBD_NBDCTL_TABLE_H
#define CNBD_NBDCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct table_column {
	const char *header;
	bool right;		/* numbers: aligned right */
};

struct table_row {
	char **cells;
	char *note;		/* NULL: none */
};

struct table {
	const struct table_column *cols;
	size_t ncols;
	struct table_row *rows;
	size_t nrows;
};

/* Copies (escaped) ncols cells and the note (may be NULL or "").
 * -1 when out of memory. */
int table_add(struct table *t, const char *const *cells, const char *note);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

/* "64 MiB", "1.5 GiB", "512 B": a size for people. */
void table_size(uint64_t bytes, char *out, size_t len);

#endif
