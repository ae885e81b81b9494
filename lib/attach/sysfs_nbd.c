/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach/sysfs_nbd.h"

#define SYS_BLOCK	"/sys/block"
#define NBD_INDEX_MAX	(1U << 20)	/* the kernel's limit on minors */

static bool parse_index(const char *s, const char **end, unsigned *index)
{
	unsigned long v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p) || (*p == '0' && isdigit((unsigned char)p[1])))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v >= NBD_INDEX_MAX)
			return false;
	}
	*end = p;
	*index = v;
	return true;
}

bool nbd_name_valid(const char *name)
{
	const char *end;
	unsigned index;

	return !strncmp(name, "nbd", 3) && parse_index(name + 3, &end, &index) && !*end;
}

bool nbd_split_partition(const char *name, char *base, size_t baselen, unsigned *part)
{
	const char *end, *pend;
	unsigned index;

	if (strncmp(name, "nbd", 3) || !parse_index(name + 3, &end, &index))
		return false;
	*part = 0;
	if (*end) {
		if (*end != 'p' || !parse_index(end + 1, &pend, part) || *pend || !*part)
			return false;
	}
	if ((size_t)(end - name) >= baselen)
		return false;
	memcpy(base, name, end - name);
	base[end - name] = '\0';
	return true;
}

static int read_attr(const char *name, const char *attr, char *out, size_t outlen)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), SYS_BLOCK "/%s/%s", name, attr);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	return 0;
}

bool nbd_exists(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), SYS_BLOCK "/%s", name);
	return access(path, F_OK) == 0;
}

long nbd_pid(const char *name)
{
	char buf[32];

	if (read_attr(name, "pid", buf, sizeof(buf)) < 0)
		return 0;
	return strtol(buf, NULL, 10);
}

uint64_t nbd_size(const char *name)
{
	char buf[32];

	if (read_attr(name, "size", buf, sizeof(buf)) < 0)
		return 0;
	return strtoull(buf, NULL, 10) * 512;
}

bool nbd_is_free(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), SYS_BLOCK "/%s/pid", name);
	return nbd_exists(name) && access(path, F_OK) < 0 && nbd_size(name) == 0;
}

int nbd_backend(const char *name, char *out, size_t outlen)
{
	if (read_attr(name, "backend", out, outlen) == 0)
		return 0;
	out[0] = '\0';
	return errno == ENOENT ? 0 : -1;
}

static int by_index(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int nbd_first_free(char *out, size_t outlen, bool (*skip)(const char *name))
{
	DIR *d = opendir(SYS_BLOCK);
	unsigned indexes[1024];
	size_t n = 0;
	struct dirent *e;
	int rc = -1;

	if (!d)
		return -1;
	while ((e = readdir(d)) && n < sizeof(indexes) / sizeof(indexes[0]))
		if (nbd_name_valid(e->d_name))
			indexes[n++] = strtoul(e->d_name + 3, NULL, 10);
	closedir(d);
	qsort(indexes, n, sizeof(indexes[0]), by_index);
	for (size_t i = 0; i < n && rc < 0; i++) {
		char name[32];

		/* Not straight into out: skip() may look at where out is. */
		snprintf(name, sizeof(name), "nbd%u", indexes[i]);
		if (!(skip && skip(name)) && nbd_is_free(name) &&
		    (size_t)snprintf(out, outlen, "%s", name) < outlen)
			rc = 0;
	}
	return rc;
}

int nbd_limit_request_size(const char *name, uint32_t bytes)
{
	char path[128];
	unsigned kb = bytes / 1024;
	FILE *f;
	int rc;

	if (kb < 4)
		kb = 4;
	snprintf(path, sizeof(path), SYS_BLOCK "/%s/queue/max_sectors_kb", name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	rc = fprintf(f, "%u\n", kb) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}
