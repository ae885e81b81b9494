/* SPDX-License-Identifier: MIT */
/*
 * nbdctl --json: one object per command, built from the daemon's reply
 * lines by a table of fields. The output is ASCII whatever the strings
 * hold: every character outside printable ASCII is a \uXXXX escape, and
 * a byte that is not part of valid UTF-8 (names come from servers and
 * may hold anything) is U+FFFD. The schema is in docs/client.md.
 */
#ifndef CNBD_NBDCTL_JSON_H
#define CNBD_NBDCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum json_type {
	JSON_STRING,		/* always a string */
	JSON_STRING_OR_NULL,	/* null when empty or "-" */
	JSON_NUMBER,		/* a decimal number; null when it is not one */
	JSON_BOOL,		/* "yes"/"no" as true/false; null otherwise */
};

struct json_field {
	const char *key;	/* in the reply line and in the object */
	enum json_type type;
};

/* The code point of the UTF-8 sequence at s, and its length in *len;
 * -1 (and *len 1) for a byte that starts no valid sequence: overlong
 * forms, surrogates and values past U+10FFFF are invalid too. */
int32_t utf8_decode(const unsigned char *s, size_t *len);

/* s as a JSON string, quotes included. */
void json_string(FILE *out, const char *s);

/* {"NAME": [OBJECT, ...]}: json_open, json_object for each reply line,
 * json_close. The text is kept until the close, which prints it only
 * when the call it came from succeeded: never half a document. */
struct json_array {
	const char *name;
	const struct json_field *fields;
	size_t nfields;
	FILE *out;		/* open_memstream's */
	char *text;
	size_t len;
	bool started;
};

/* 0, or -1 (said on stderr) when out of memory. */
int json_open(struct json_array *a);
/* One reply line as an object of the fields. */
int json_object(struct json_array *a, const char *line);
/* Prints the document to stdout when ok, and frees it. */
void json_close(struct json_array *a, bool ok);

#endif
