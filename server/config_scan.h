/* SPDX-License-Identifier: MIT */
/*
 * A first pass over a configuration text that finds the line of every
 * [section] header and of every key, the way inih reads them. inih's
 * handler is not told its line, but it is called once per key line in
 * order, so the n-th call stands on key_lines[n]. The pass also catches
 * what inih would silently accept: a section given twice (inih merges
 * them) and a name too long for inih's buffer (inih truncates it).
 */
#ifndef CNBD_SERVER_CONFIG_SCAN_H
#define CNBD_SERVER_CONFIG_SCAN_H

#include <stddef.h>

/* inih keeps section names in a 50-byte buffer. */
#define CONFIG_MAX_SECTION_NAME	49

struct config_section {
	char *name;
	int line;
};

struct config_scan {
	struct config_section *sections;
	size_t nsections;
	int *key_lines;
	size_t nkeys;
};

/* 0, or -1 with "name:line: reason" in err. */
int config_scan(const char *name, const char *text, struct config_scan *scan,
		char *err, size_t errlen);
/* The line of the first [section] header called name; 0 if none. */
int config_scan_section_line(const struct config_scan *scan, const char *name);
void config_scan_free(struct config_scan *scan);

#endif
