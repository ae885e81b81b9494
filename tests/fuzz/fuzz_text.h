/* SPDX-License-Identifier: MIT */
/* The text targets' input as a C string: a copy, cut at the first NUL
 * (the parsers take C strings, so a NUL can never reach them). */
#ifndef CNBD_FUZZ_TEXT_H
#define CNBD_FUZZ_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_text(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif
