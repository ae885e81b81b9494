/* SPDX-License-Identifier: MIT */
#ifndef CNBD_PARSE_H
#define CNBD_PARSE_H

#include <stdint.h>

/* "64K", "1G", "512": 0 and *out set, or -1 (no message). */
int parse_size(const char *value, int64_t *out);
/* 1, 0, or -1 when it is not a boolean. */
int parse_bool(const char *value);
/* Decimal (or 0x hex) unsigned integer no larger than max: 0 or -1. */
int parse_uint(const char *value, uint64_t max, uint64_t *out);

#endif
