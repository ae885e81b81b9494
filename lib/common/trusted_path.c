/* SPDX-License-Identifier: MIT */
/*
 * The walk behind trusted_open(). Checking a path with stat() and then
 * opening it by name checks one object and uses another: every name on
 * the way can be swapped between the two calls (rename, a symlink, a
 * directory exchanged with renameat2(RENAME_EXCHANGE)). Here each
 * component is opened relative to the descriptor of the one before,
 * with O_NOFOLLOW, and checked on its own descriptor (fstat): what was
 * checked is what is opened, and the final descriptor is what the
 * caller reads or loads.
 *
 * The rule for each component: owned by root, and not writable by group
 * or others, since whoever may write a directory may replace what it
 * holds. One exception, for paths under /tmp and the like: a directory
 * above the one that holds the final object may be writable by others
 * if it has the sticky bit. In a sticky directory nobody but the owner
 * of an entry (and root) may rename or remove it, so others cannot move
 * root's directory away or put one of theirs in its place, and a
 * directory they create there is theirs, which the next step refuses.
 * The directory directly holding a final file gets no such exception:
 * others may still create entries in a sticky directory, and a hard link
 * they made to some other root-owned file would pass every check.
 * Directories cannot be hard-linked, so the exception is safe exactly
 * where the next component is a directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/trusted_path.h"

/* "PATH: strerror", with errno left at e for the caller. */
static void sys_fail(char *err, size_t errlen, const char *abs, int e)
{
	snprintf(err, errlen, "%s: %s", abs, strerror(e));
	errno = e;
}

/* "PATH: COMPONENT why", or "PATH why" when the component is the whole
 * path. len is the length of the component's prefix of abs. */
static void refuse(char *err, size_t errlen, const char *abs, size_t len,
		   const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (len == strlen(abs))
		snprintf(err, errlen, "%s %s", abs, why);
	else
		snprintf(err, errlen, "%s: %.*s %s", abs, (int)len, abs, why);
	errno = EPERM;
}

/* abs: path with the working directory in front when it is relative
 * (not realpath: that would follow the very links to be refused), and
 * without trailing slashes. */
static int make_absolute(const char *path, char *abs, size_t size,
			 char *err, size_t errlen)
{
	size_t len;
	int n;

	if (!*path) {
		sys_fail(err, errlen, "(empty path)", ENOENT);
		return -1;
	}
	if (path[0] == '/') {
		n = snprintf(abs, size, "%s", path);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd))) {
			int e = errno;

			snprintf(err, errlen, "%s: the working directory: %s", path,
				 strerror(e));
			errno = e;
			return -1;
		}
		n = snprintf(abs, size, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	}
	if (n < 0 || (size_t)n >= size) {
		sys_fail(err, errlen, path, ENAMETOOLONG);
		return -1;
	}
	len = strlen(abs);
	while (len > 1 && abs[len - 1] == '/')
		abs[--len] = '\0';
	return 0;
}

/* The descriptor fd holds the component abs[0, len). */
static int check(int fd, const char *abs, size_t len, bool sticky_ok,
		 char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %.*s: %s", abs, (int)len, abs, strerror(e));
		errno = e;
		return -1;
	}
	if (st.st_uid != 0) {
		refuse(err, errlen, abs, len, "is owned by uid %u, not root",
		       (unsigned)st.st_uid);
		return -1;
	}
	if (!(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	if (sticky_ok && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))
		return 0;
	refuse(err, errlen, abs, len, "is writable by group or others (mode %04o)",
	       (unsigned)(st.st_mode & 07777));
	return -1;
}

/* openat failed on name in dirfd: a symbolic link gets its own words
 * (O_NOFOLLOW says ELOOP, or ENOTDIR with O_DIRECTORY). */
static void open_failed(int dirfd, const char *name, const char *abs, size_t len,
			char *err, size_t errlen)
{
	int e = errno;
	struct stat st;

	if ((e == ELOOP || e == ENOTDIR) &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		refuse(err, errlen, abs, len, "is a symbolic link");
		errno = ELOOP;
		return;
	}
	sys_fail(err, errlen, abs, e);
}

static void close_keep_errno(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
}

static int final_flags(enum trusted_kind kind)
{
	/* O_NONBLOCK: a FIFO must not hang the server (it is refused as
	 * not a regular file right after). */
	if (kind == TRUSTED_DIR)
		return O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	return O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
}

/* The final descriptor is of the kind asked for; a file's O_NONBLOCK is
 * taken off again. */
static int check_kind(int fd, enum trusted_kind kind, const char *abs,
		      char *err, size_t errlen)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0) {
		sys_fail(err, errlen, abs, errno);
		return -1;
	}
	if (kind == TRUSTED_DIR)
		return 0;	/* O_DIRECTORY saw to it */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", abs);
		errno = EINVAL;
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		sys_fail(err, errlen, abs, errno);
		return -1;
	}
	return 0;
}

int trusted_open(const char *path, enum trusted_kind kind, char *err, size_t errlen)
{
	char abs[PATH_MAX], name[NAME_MAX + 1];
	size_t dir_len = 1, pos = 1, end, next;
	struct stat st;
	int dirfd, fd;
	bool final;

	if (make_absolute(path, abs, sizeof(abs), err, errlen) < 0)
		return -1;
	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		sys_fail(err, errlen, abs, errno);
		return -1;
	}
	while (abs[pos] == '/')
		pos++;
	if (!abs[pos]) {
		/* "/" itself: no component below it. */
		fd = openat(dirfd, ".", final_flags(kind));
		close_keep_errno(dirfd);
		if (fd < 0) {
			sys_fail(err, errlen, abs, errno);
			return -1;
		}
		if (check(fd, abs, 1, false, err, errlen) < 0 ||
		    check_kind(fd, kind, abs, err, errlen) < 0) {
			close_keep_errno(fd);
			return -1;
		}
		return fd;
	}
	for (;;) {
		end = pos + strcspn(abs + pos, "/");
		for (next = end; abs[next] == '/'; next++)
			;
		final = !abs[next];
		/* The directory in hand holds the next component; only one
		 * that holds a directory may be sticky and world-writable. */
		if (check(dirfd, abs, dir_len, !(final && kind == TRUSTED_FILE),
			  err, errlen) < 0)
			goto fail;
		if (end - pos > NAME_MAX) {
			sys_fail(err, errlen, abs, ENAMETOOLONG);
			goto fail;
		}
		memcpy(name, abs + pos, end - pos);
		name[end - pos] = '\0';
		if (!strcmp(name, "..")) {
			refuse(err, errlen, abs, end,
			       "goes up with '..': name the directory without it");
			goto fail;
		}
		fd = openat(dirfd, name, final ? final_flags(kind) : O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			open_failed(dirfd, name, abs, end, err, errlen);
			goto fail;
		}
		close(dirfd);
		dirfd = fd;
		dir_len = end;
		if (final)
			break;
		/* O_PATH with O_NOFOLLOW opens a symbolic link itself. */
		if (fstat(fd, &st) < 0) {
			sys_fail(err, errlen, abs, errno);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			refuse(err, errlen, abs, end, "is a symbolic link");
			errno = ELOOP;
			goto fail;
		}
		if (!S_ISDIR(st.st_mode)) {
			refuse(err, errlen, abs, end, "is not a directory");
			errno = ENOTDIR;
			goto fail;
		}
		pos = next;
	}
	if (check(dirfd, abs, dir_len, false, err, errlen) < 0 ||
	    check_kind(dirfd, kind, abs, err, errlen) < 0)
		goto fail;
	return dirfd;
fail:
	close_keep_errno(dirfd);
	return -1;
}

int trusted_open_if(const char *path, enum trusted_kind kind, bool check_path,
		    char *err, size_t errlen)
{
	int fd;

	if (check_path)
		return trusted_open(path, kind, err, errlen);
	fd = open(path, final_flags(kind) & ~O_NOFOLLOW);
	if (fd < 0) {
		sys_fail(err, errlen, path, errno);
		return -1;
	}
	if (check_kind(fd, kind, path, err, errlen) < 0) {
		close_keep_errno(fd);
		return -1;
	}
	return fd;
}
