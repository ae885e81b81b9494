/* SPDX-License-Identifier: MIT */
/*
 * The walk root trusts paths with (lib/common/trusted_path.c): each component
 * from "/" owned by root and not writable by others, a sticky ancestor
 * allowed, symbolic links and ".." refused, every refusal naming the
 * component and why; the descriptor returned is the object checked.
 * Ownership needs chown, so these tests need root (CI runs as root):
 * without it they fail rather than pass untested.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/trusted_path.h"

#define NOBODY 65534

static char top[64];		/* /tmp/cnbd-trusted-XXXXXX, mode 0755 */
static char err[2048];

static const char *at(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", top, rel);
	return p;
}

static void mkdir_mode(const char *rel, mode_t mode)
{
	assert_int_equal(mkdir(at(rel), 0700), 0);
	assert_int_equal(chmod(at(rel), mode), 0);
}

static void file_mode(const char *rel, mode_t mode)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	assert_int_equal(chmod(at(rel), mode), 0);
}

/* Opens and expects success: the descriptor is the file at path. */
static void open_ok(const char *path, enum trusted_kind kind)
{
	struct stat a, b;
	int fd;

	err[0] = '\0';
	fd = trusted_open(path, kind, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s: unexpected refusal: %s", path, err);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_dev, b.st_dev);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	if (kind == TRUSTED_FILE)
		assert_true(S_ISREG(a.st_mode));
	else
		assert_true(S_ISDIR(a.st_mode));
	close(fd);
}

/* Opens and expects exactly this refusal, and errno to say its kind. */
static void open_bad(const char *path, enum trusted_kind kind, const char *want)
{
	int e;

	err[0] = '\0';
	errno = 0;
	assert_int_equal(trusted_open(path, kind, err, sizeof(err)), -1);
	e = errno;
	assert_string_equal(err, want);
	if (strstr(want, "symbolic link"))
		assert_int_equal(e, ELOOP);
	else if (strstr(want, "No such file"))
		assert_int_equal(e, ENOENT);
	else if (strstr(want, "not a regular file"))
		assert_int_equal(e, EINVAL);
	else if (strstr(want, "not a directory") || strstr(want, "Not a directory"))
		assert_int_equal(e, ENOTDIR);
	else
		assert_int_equal(e, EPERM);
}

static char want[2 * PATH_MAX];

static const char *msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	return want;
}

static void test_root_owned_tree_opens(void **state)
{
	(void)state;
	mkdir_mode("a", 0755);
	mkdir_mode("a/b", 0755);
	file_mode("a/b/f", 0644);
	open_ok(at("a/b/f"), TRUSTED_FILE);
	open_ok(at("a/b"), TRUSTED_DIR);
	/* Extra and trailing slashes name the same thing. */
	open_ok(msg("%s//a///b/", top), TRUSTED_DIR);
	open_ok("/", TRUSTED_DIR);
	/* A file readable by nobody but root is fine: reading is not writing. */
	file_mode("a/b/secret", 0400);
	open_ok(at("a/b/secret"), TRUSTED_FILE);
}

static void test_relative_path_walks_from_root(void **state)
{
	char cwd[PATH_MAX];

	(void)state;
	mkdir_mode("r", 0755);
	file_mode("r/f", 0644);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(top), 0);
	err[0] = '\0';
	int fd = trusted_open("r/f", TRUSTED_FILE, err, sizeof(err));

	if (fd < 0)
		fail_msg("unexpected refusal: %s", err);
	close(fd);
	/* The directories above the cwd are checked too, and named in full. */
	assert_int_equal(chown(top, NOBODY, NOBODY), 0);
	open_bad("r/f", TRUSTED_FILE,
		 msg("%s/r/f: %s is owned by uid %d, not root", top, top, NOBODY));
	assert_int_equal(chown(top, 0, 0), 0);
	assert_int_equal(chdir(cwd), 0);
}

static void test_owner_refused_naming_component(void **state)
{
	(void)state;
	mkdir_mode("o", 0755);
	mkdir_mode("o/d", 0755);
	file_mode("o/d/f", 0644);
	assert_int_equal(chown(at("o"), NOBODY, NOBODY), 0);
	open_bad(at("o/d/f"), TRUSTED_FILE,
		 msg("%s: %s is owned by uid %d, not root", at("o/d/f"), at("o"), NOBODY));
	open_bad(at("o/d"), TRUSTED_DIR,
		 msg("%s: %s is owned by uid %d, not root", at("o/d"), at("o"), NOBODY));
	assert_int_equal(chown(at("o"), 0, 0), 0);
	assert_int_equal(chown(at("o/d/f"), NOBODY, 0), 0);
	open_bad(at("o/d/f"), TRUSTED_FILE,
		 msg("%s is owned by uid %d, not root", at("o/d/f"), NOBODY));
	/* A group other than root's is fine while the group cannot write. */
	assert_int_equal(chown(at("o/d/f"), 0, NOBODY), 0);
	open_ok(at("o/d/f"), TRUSTED_FILE);
}

static void test_writable_refused_with_mode(void **state)
{
	(void)state;
	mkdir_mode("w", 0755);
	mkdir_mode("w/d", 0755);
	file_mode("w/d/f", 0664);
	open_bad(at("w/d/f"), TRUSTED_FILE,
		 msg("%s is writable by group or others (mode 0664)", at("w/d/f")));
	assert_int_equal(chmod(at("w/d/f"), 0646), 0);
	open_bad(at("w/d/f"), TRUSTED_FILE,
		 msg("%s is writable by group or others (mode 0646)", at("w/d/f")));
	assert_int_equal(chmod(at("w/d/f"), 0644), 0);
	assert_int_equal(chmod(at("w"), 0775), 0);
	open_bad(at("w/d/f"), TRUSTED_FILE,
		 msg("%s: %s is writable by group or others (mode 0775)", at("w/d/f"), at("w")));
	/* World-writable without the sticky bit: anyone may swap d. */
	assert_int_equal(chmod(at("w"), 0777), 0);
	open_bad(at("w/d/f"), TRUSTED_FILE,
		 msg("%s: %s is writable by group or others (mode 0777)", at("w/d/f"), at("w")));
	assert_int_equal(chmod(at("w"), 0755), 0);
	/* The final directory itself never gets the sticky exception. */
	assert_int_equal(chmod(at("w/d"), 01777), 0);
	open_bad(at("w/d"), TRUSTED_DIR,
		 msg("%s is writable by group or others (mode 1777)", at("w/d")));
}

static void test_sticky_ancestor_allowed(void **state)
{
	(void)state;
	mkdir_mode("s", 01777);
	mkdir_mode("s/d", 0755);
	file_mode("s/d/f", 0644);
	/* Like /tmp: others cannot rename or remove root's d. */
	open_ok(at("s/d/f"), TRUSTED_FILE);
	open_ok(at("s/d"), TRUSTED_DIR);
	/* Group-writable and sticky: the same protection. */
	assert_int_equal(chmod(at("s"), 01775), 0);
	open_ok(at("s/d/f"), TRUSTED_FILE);
	/* But not directly holding the file: others could create a hard
	 * link to any root-owned file under its name. */
	assert_int_equal(chmod(at("s"), 01777), 0);
	file_mode("s/g", 0644);
	open_bad(at("s/g"), TRUSTED_FILE,
		 msg("%s: %s is writable by group or others (mode 1777)", at("s/g"), at("s")));
	/* What others put below the sticky directory is theirs: refused. */
	assert_int_equal(chown(at("s/d"), NOBODY, NOBODY), 0);
	open_bad(at("s/d/f"), TRUSTED_FILE,
		 msg("%s: %s is owned by uid %d, not root", at("s/d/f"), at("s/d"), NOBODY));
}

static void test_symlinks_refused(void **state)
{
	(void)state;
	mkdir_mode("l", 0755);
	mkdir_mode("l/real", 0755);
	file_mode("l/real/f", 0644);
	assert_int_equal(symlink("real", at("l/link")), 0);
	assert_int_equal(symlink("f", at("l/real/flink")), 0);
	/* A link in the middle, at the end, and to a directory at the end. */
	open_bad(at("l/link/f"), TRUSTED_FILE,
		 msg("%s: %s is a symbolic link", at("l/link/f"), at("l/link")));
	open_bad(at("l/real/flink"), TRUSTED_FILE,
		 msg("%s is a symbolic link", at("l/real/flink")));
	open_bad(at("l/link"), TRUSTED_DIR, msg("%s is a symbolic link", at("l/link")));
	/* Even a root-owned link to a good file: the path is not the file. */
	open_ok(at("l/real/f"), TRUSTED_FILE);
}

static void test_other_refusals(void **state)
{
	(void)state;
	mkdir_mode("x", 0755);
	mkdir_mode("x/d", 0755);
	file_mode("x/f", 0644);
	open_bad(at("x/missing"), TRUSTED_FILE,
		 msg("%s: No such file or directory", at("x/missing")));
	open_bad(at("x/nodir/f"), TRUSTED_FILE,
		 msg("%s: No such file or directory", at("x/nodir/f")));
	open_bad(at("x/d/../f"), TRUSTED_FILE,
		 msg("%s: %s goes up with '..': name the directory without it",
		     at("x/d/../f"), at("x/d/..")));
	open_bad(at("x/d"), TRUSTED_FILE, msg("%s is not a regular file", at("x/d")));
	open_bad(at("x/f"), TRUSTED_DIR, msg("%s: Not a directory", at("x/f")));
	open_bad(at("x/f/g"), TRUSTED_FILE, msg("%s: %s is not a directory", at("x/f/g"), at("x/f")));
	assert_int_equal(mkfifo(at("x/fifo"), 0644), 0);
	/* Refused at once, not blocked waiting for a writer. */
	open_bad(at("x/fifo"), TRUSTED_FILE, msg("%s is not a regular file", at("x/fifo")));
	open_bad("", TRUSTED_FILE, "(empty path): No such file or directory");
}

/* Without the check: a user's own files, links and modes as they are. */
static void test_unchecked_open(void **state)
{
	int fd;

	(void)state;
	mkdir_mode("u", 0777);
	file_mode("u/f", 0666);
	assert_int_equal(symlink("f", at("u/link")), 0);
	fd = trusted_open_if(at("u/link"), TRUSTED_FILE, false, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	fd = trusted_open_if(at("u"), TRUSTED_DIR, false, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(trusted_open_if(at("u"), TRUSTED_FILE, false, err, sizeof(err)), -1);
	assert_string_equal(err, msg("%s is not a regular file", at("u")));
	assert_int_equal(trusted_open_if(at("u/link"), TRUSTED_FILE, true, err, sizeof(err)), -1);
	assert_string_equal(err, msg("%s: %s is writable by group or others (mode 0777)",
				     at("u/link"), at("u")));
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_trusted_path must run as root (CI does): it needs chown\n");
		return -1;
	}
	snprintf(top, sizeof(top), "/tmp/cnbd-trusted-XXXXXX");
	if (!mkdtemp(top) || chmod(top, 0755) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_owned_tree_opens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_path_walks_from_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_refused_naming_component, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_refused_with_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_ancestor_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchecked_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
