/* SPDX-License-Identifier: MIT */
/* Reading configuration text: one small file whole, and the list of
 * drop-in files of exports-dir in the order they are read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_priv.h"
#include "common/trusted_path.h"

/* A configuration file is small; refuse to slurp something that is not. */
#define CONFIG_MAX_BYTES	(1 << 20)
/* Far more drop-ins than anyone writes; a bound all the same. */
#define CONFIG_MAX_DROPINS	4096

static int read_all(int fd, char *buf, size_t len, size_t *got)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, buf + *got, len - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += n;
	}
	return 0;
}

/* As root, a file someone else could write is a way to make the server
 * load their code (backend-dir) or serve their choice of disk: the path
 * is walked from "/" and the file read from the descriptor checked. */
static bool as_root(void)
{
	return geteuid() == 0;
}

char *config_read_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len;
	int fd = trusted_open_if(path, TRUSTED_FILE, as_root(), err, errlen);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
			 path, CONFIG_MAX_BYTES);
		goto out;
	}
	text = malloc(st.st_size + 1);
	if (!text || read_all(fd, text, st.st_size, &len) < 0)
		goto fail;
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: contains a NUL byte: not a text file", path);
		goto out;
	}
	close(fd);
	return text;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
out:
	free(text);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* "*.conf", not hidden: an editor's ".x.conf.swp" or a half-written
 * ".x.conf" is not a drop-in. */
static int is_dropin(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 5 && !strcmp(d->d_name + len - 5, ".conf");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

void config_free_paths(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int config_list_dir(const char *dir, char ***paths, size_t *n,
		    char *err, size_t errlen)
{
	struct dirent **names;
	char **v, why[1024];
	int count, fd;

	*paths = NULL;
	*n = 0;
	/* The names come from the directory checked; each file is walked
	 * again when it is read. */
	fd = trusted_open_if(dir, TRUSTED_DIR, as_root(), why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "exports-dir %s", why);
		return -1;
	}
	count = scandirat(fd, ".", &names, is_dropin, by_name);
	if (count < 0) {
		snprintf(err, errlen, "exports-dir %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	v = count <= CONFIG_MAX_DROPINS ? calloc(count + 1, sizeof(*v)) : NULL;
	for (int i = 0; i < count; i++) {
		if (v && asprintf(&v[*n], "%s/%s", dir, names[i]->d_name) >= 0)
			(*n)++;
		free(names[i]);
	}
	free(names);
	if (*n == (size_t)count) {
		*paths = v;
		return 0;
	}
	if (count > CONFIG_MAX_DROPINS)
		snprintf(err, errlen, "exports-dir %s: more than %d files", dir,
			 CONFIG_MAX_DROPINS);
	else
		snprintf(err, errlen, "exports-dir %s: out of memory", dir);
	config_free_paths(v, *n);
	*n = 0;
	return -1;
}
