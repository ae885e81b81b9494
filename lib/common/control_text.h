/* SPDX-License-Identifier: MIT */
/*
 * Words on the control protocol's lines. A value that may hold anything
 * (an export name, an error sentence) is percent-escaped so that it is
 * one word on one line: space, '%', '=', control bytes and bytes above
 * 0x7e become %HH.
 */
#ifndef CNBD_CONTROL_TEXT_H
#define CNBD_CONTROL_TEXT_H

#include <stddef.h>

/* 0, or -1 when out is too small (out then holds a truncated prefix). */
int control_escape(const char *in, char *out, size_t outlen);
/* 0, or -1 on a bad escape, a %00 or an out too small. */
int control_unescape(const char *in, char *out, size_t outlen);
/* In "k1=v1 k2=v2", copies k's unescaped value to out: 0, or -1 when
 * absent or bad. */
int control_field(const char *line, const char *key, char *out, size_t outlen);

#endif
