/* SPDX-License-Identifier: MIT */
#ifndef CNBD_PARSE_H
#define CNBD_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* "64K", "1G", "512": 0 and *out set, or -1 (no message). */
int parse_size(const char *value, int64_t *out);
/* 1, 0, or -1 when it is not a boolean. */
int parse_bool(const char *value);
/* Decimal (or 0x hex) unsigned integer no larger than max: 0 or -1. */
int parse_uint(const char *value, uint64_t max, uint64_t *out);
/* The byte a percent escape "%HH" at s[i] stands for (s[i] is '%', len
 * the length of s), or -1 when the two hex digits are not there. */
int parse_percent_escape(const char *s, size_t len, size_t i);

#endif
