/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/control_text.h"
#include "nbdctl_json.h"

int32_t utf8_decode(const unsigned char *s, size_t *len)
{
	static const int32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 ? 3 :
		   s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	int32_t c;

	*len = 1;
	if (n == 0 || s[0] >= 0xf5)
		return -1;
	c = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*len = n;
	return c;
}

static void put_code_point(FILE *out, int32_t c)
{
	if (c >= 0x10000) {
		c -= 0x10000;
		fprintf(out, "\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
	} else {
		fprintf(out, "\\u%04x", c);
	}
}

void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('"', out);
	while (*p) {
		size_t len = 1;

		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p >= 0x20 && *p < 0x7f)
			putc(*p, out);
		else if (*p < 0x80)
			put_code_point(out, *p);	/* control bytes, DEL */
		else {
			int32_t c = utf8_decode(p, &len);

			put_code_point(out, c < 0 ? 0xfffd : c);
		}
		p += len;
	}
	putc('"', out);
}

static bool is_number(const char *s)
{
	if (!*s || strlen(s) > 20)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void put_value(FILE *out, const char *v, enum json_type type)
{
	switch (type) {
	case JSON_STRING:
		json_string(out, v);
		break;
	case JSON_STRING_OR_NULL:
		if (!*v || !strcmp(v, "-"))
			fputs("null", out);
		else
			json_string(out, v);
		break;
	case JSON_NUMBER:
		fputs(is_number(v) ? v : "null", out);
		break;
	case JSON_BOOL:
		fputs(!strcmp(v, "yes") ? "true" : !strcmp(v, "no") ? "false" : "null", out);
		break;
	}
}

int json_open(struct json_array *a)
{
	a->out = open_memstream(&a->text, &a->len);
	if (!a->out) {
		perror("nbdctl");
		return -1;
	}
	fprintf(a->out, "{\"%s\": [", a->name);
	return 0;
}

int json_object(struct json_array *a, const char *line)
{
	/* A value is never longer than the line that carries it. */
	char *v = malloc(strlen(line) + 1);

	if (!v)
		return -1;
	fputs(a->started ? ",\n  {" : "\n  {", a->out);
	a->started = true;
	for (size_t i = 0; i < a->nfields; i++) {
		const struct json_field *f = &a->fields[i];

		if (control_field(line, f->key, v, strlen(line) + 1) < 0)
			v[0] = '\0';
		fprintf(a->out, "%s\"%s\": ", i ? ", " : "", f->key);
		put_value(a->out, v, f->type);
	}
	putc('}', a->out);
	free(v);
	return 0;
}

void json_close(struct json_array *a, bool ok)
{
	fputs(a->started ? "\n]}\n" : "]}\n", a->out);
	if (fclose(a->out) == 0 && ok)
		fwrite(a->text, 1, a->len, stdout);
	free(a->text);
	a->out = NULL;
	a->text = NULL;
}
