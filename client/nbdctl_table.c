/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nbdctl.h"
#include "nbdctl_table.h"

/* Characters on the screen: UTF-8 continuation bytes take no column
 * (every other byte is one, escaped as they are). */
static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

int table_add(struct table *t, const char *const *cells, const char *note)
{
	struct table_row *rows = realloc(t->rows, (t->nrows + 1) * sizeof(*rows));
	struct table_row *r;

	if (!rows)
		return -1;
	t->rows = rows;
	r = &rows[t->nrows];
	r->note = note && *note ? nbdctl_escape(note) : NULL;
	r->cells = calloc(t->ncols, sizeof(*r->cells));
	if (!r->cells || (note && *note && !r->note)) {
		free(r->cells);
		free(r->note);
		return -1;
	}
	t->nrows++;
	for (size_t i = 0; i < t->ncols; i++)
		if (!(r->cells[i] = nbdctl_escape(cells[i])))
			return -1;	/* table_free frees what was made */
	return 0;
}

static void print_cell(FILE *out, const char *s, size_t width, bool right, bool last)
{
	size_t pad = width - columns(s);

	if (right)
		fprintf(out, "%*s", (int)pad, "");
	fputs(s, out);
	if (!right && !last)
		fprintf(out, "%*s", (int)pad, "");
	if (!last)
		fputs("  ", out);
}

void table_print(const struct table *t, FILE *out)
{
	size_t *w = calloc(t->ncols, sizeof(*w));

	if (!w)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = columns(t->cols[c].header);
		for (size_t r = 0; r < t->nrows; r++)
			if (t->rows[r].cells[c] && columns(t->rows[r].cells[c]) > w[c])
				w[c] = columns(t->rows[r].cells[c]);
	}
	for (size_t c = 0; c < t->ncols; c++)
		print_cell(out, t->cols[c].header, w[c], t->cols[c].right, c + 1 == t->ncols);
	putc('\n', out);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++)
			print_cell(out, t->rows[r].cells[c] ? t->rows[r].cells[c] : "", w[c],
				   t->cols[c].right, c + 1 == t->ncols);
		putc('\n', out);
		if (t->rows[r].note)
			fprintf(out, "  %s\n", t->rows[r].note);
	}
	free(w);
}

void table_free(struct table *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++)
			free(t->rows[r].cells[c]);
		free(t->rows[r].cells);
		free(t->rows[r].note);
	}
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

void table_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t u = 0;
	uint64_t whole = bytes;

	while (whole >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		whole /= 1024;
		u++;
	}
	if (u == 0 || bytes % ((uint64_t)1 << (10 * u)) == 0) {
		snprintf(out, len, "%" PRIu64 " %s", whole, unit[u]);
		return;
	}
	snprintf(out, len, "%.1f %s", (double)bytes / (double)((uint64_t)1 << (10 * u)), unit[u]);
}
