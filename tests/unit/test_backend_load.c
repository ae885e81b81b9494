/* SPDX-License-Identifier: MIT */
/*
 * Loading backends (lib/backend/backend_load.c): the ABI checks, the append-only
 * struct rule, and refusing code that someone other than root could have
 * replaced. Fixtures are built from tests/unit/fixtures/NAME.c into
 * $CNBD_BUILD/tests/unit/fixtures; the shipped backends come from
 * $CNBD_BUILD/backends.
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

#include "backend/backend_load.h"

static char fixtures[PATH_MAX / 2];
static char shipped[PATH_MAX / 2];
static char err[1024];

static const struct cnbd_backend *load_fixture(const char *name)
{
	err[0] = '\0';
	return backend_load(fixtures, name, false, err, sizeof(err));
}

static void assert_err_has(const char *what)
{
	if (!strstr(err, what))
		fail_msg("expected \"%s\" in the message, got \"%s\"", what, err);
}

/* ---- ABI ---- */

static void test_good_loads_and_is_cached(void **state)
{
	const struct cnbd_backend *a, *b;
	char buf[8];

	(void)state;
	a = load_fixture("good");
	assert_non_null(a);
	assert_string_equal(a->name, "good");
	assert_int_equal(a->get_size(NULL), 4096);
	assert_int_equal(a->pread(NULL, buf, sizeof(buf), 0, 0), 0);
	assert_memory_equal(buf, "gggggggg", 8);
	assert_null(a->pwrite);
	b = load_fixture("good");
	assert_ptr_equal(a, b);
}

static void test_wrong_major_refused(void **state)
{
	(void)state;
	assert_null(load_fixture("abi_major"));
	assert_err_has("abi_major");
	assert_err_has("ABI 2.3");
	assert_err_has("rebuild");
}

static void test_missing_entry_refused(void **state)
{
	(void)state;
	assert_null(load_fixture("no_entry"));
	assert_err_has("cnbd_backend_entry");
	assert_err_has("not a cnbd backend");
}

static void test_null_entry_refused(void **state)
{
	(void)state;
	assert_null(load_fixture("null_entry"));
	assert_err_has("returned NULL");
}

static void test_missing_required_callback_refused(void **state)
{
	(void)state;
	assert_null(load_fixture("no_pread"));
	assert_err_has("required");
}

/* ABI 1.3: a layer has its own entry, needs open_layer_conn and nothing
 * else; a backend's entry must not carry a layer. */
static void test_layer_entry(void **state)
{
	const struct cnbd_backend *l;

	(void)state;
	l = load_fixture("layer_good");
	assert_non_null(l);
	assert_true(backend_is_layer(l));
	assert_null(l->pread);
	assert_false(backend_is_layer(load_fixture("good")));
	assert_null(load_fixture("layer_no_conn"));
	assert_err_has("has no open_layer_conn");
	assert_null(load_fixture("layer_as_backend"));
	assert_err_has("registers with CNBD_LAYER_REGISTER");
	assert_null(load_fixture("no_entry"));
	assert_err_has(CNBD_LAYER_ENTRY_SYMBOL);
}

static void test_missing_file_refused(void **state)
{
	(void)state;
	assert_null(load_fixture("does_not_exist"));
	assert_err_has("does_not_exist");
}

static void test_bad_name_refused(void **state)
{
	(void)state;
	assert_null(load_fixture("../fixtures/good"));
	assert_err_has("not a backend name");
	assert_null(load_fixture(""));
}

/* An older backend: only struct_size bytes are its own. */
static void test_old_struct_tail_is_zeroed(void **state)
{
	const struct cnbd_backend *b;

	(void)state;
	b = load_fixture("old_struct");
	assert_non_null(b);
	assert_int_equal(b->struct_size, offsetof(struct cnbd_backend, cache));
	assert_non_null(b->flush);
	assert_int_equal(b->get_size(NULL), 512);
	assert_null(b->cache);
	assert_null(b->extents);
}

static void test_newer_minor_loads(void **state)
{
	const struct cnbd_backend *b;

	(void)state;
	b = load_fixture("newer_minor");
	assert_non_null(b);
	assert_int_equal(b->get_size(NULL), 1024);
	assert_null(b->extents);
}

/* The same rule without dlopen: adopt copies, it never aliases. */
static void test_adopt_copies_only_struct_size(void **state)
{
	struct cnbd_backend ops;
	struct cnbd_backend *copy;

	(void)state;
	memset(&ops, 0xff, sizeof(ops));
	ops.abi_version = CNBD_BACKEND_ABI_VERSION;
	ops.struct_size = offsetof(struct cnbd_backend, trim);
	ops.name = "adopted";
	ops.get_size = (int64_t (*)(void *))1;
	copy = backend_adopt(&ops, err, sizeof(err));
	assert_non_null(copy);
	assert_ptr_not_equal(copy, &ops);
	assert_non_null(copy->flush);
	assert_null(copy->trim);
	assert_null(copy->zero);
	assert_null(copy->cache);
	assert_null(copy->extents);
	free(copy);

	ops.struct_size = offsetof(struct cnbd_backend, get_size);
	assert_null(backend_adopt(&ops, err, sizeof(err)));
	assert_err_has("too small");
}

/* ---- the shipped backends resolve against the host functions ---- */

static void test_shipped_backends_load(void **state)
{
	static const char *const names[] = { "file", "memory", "null" };
	const struct cnbd_backend *b;
	struct cnbd_param p = { "size", "1M" };
	void *exp;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		b = backend_load(shipped, names[i], false, err, sizeof(err));
		if (!b)
			fail_msg("%s: %s", names[i], err);
		assert_string_equal(b->name, names[i]);
		assert_int_equal(b->struct_size, sizeof(struct cnbd_backend));
		assert_non_null(b->open_export);
	}
	b = backend_load(shipped, "memory", false, err, sizeof(err));
	exp = b->open_export(&p, 1);
	assert_non_null(exp);
	assert_int_equal(b->get_size(exp), 1 << 20);
	b->close_export(exp);
}

/* ---- ownership and permissions ---- */

struct tmp {
	char dir[64];
};

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
	assert_int_equal(chmod(to, mode), 0);
}

/* A fresh directory (mode 0755) holding good.so as <name>.so. */
static void make_dir_with(struct tmp *t, const char *name, mode_t mode)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(t->dir, sizeof(t->dir), "/tmp/cnbd-load-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	assert_int_equal(chmod(t->dir, 0755), 0);
	snprintf(from, sizeof(from), "%s/good.so", fixtures);
	snprintf(to, sizeof(to), "%s/%s.so", t->dir, name);
	copy_file(from, to, mode);
}

static void remove_dir(struct tmp *t, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.so", t->dir, name);
	unlink(path);
	rmdir(t->dir);
}

static const struct cnbd_backend *load_strict(struct tmp *t, const char *name)
{
	err[0] = '\0';
	return backend_load(t->dir, name, true, err, sizeof(err));
}

static void test_root_owned_loads(void **state)
{
	struct tmp t;

	(void)state;
	if (geteuid() != 0)
		fail_msg("needs root (CI runs as root): ownership cannot be tested otherwise");
	make_dir_with(&t, "strict_ok", 0755);
	assert_non_null(load_strict(&t, "strict_ok"));
	remove_dir(&t, "strict_ok");
}

static void test_group_writable_so_refused(void **state)
{
	struct tmp t;

	(void)state;
	make_dir_with(&t, "strict_gw", 0775);
	assert_null(load_strict(&t, "strict_gw"));
	/* Not root: the directory is already someone else's. */
	if (geteuid() == 0) {
		assert_err_has("strict_gw.so");
		assert_err_has("writable by group or others (mode 0775)");
	}
	remove_dir(&t, "strict_gw");
}

static void test_world_writable_so_refused(void **state)
{
	struct tmp t;

	(void)state;
	make_dir_with(&t, "strict_ow", 0757);
	assert_null(load_strict(&t, "strict_ow"));
	/* Not root: the directory is already someone else's. */
	if (geteuid() == 0) {
		assert_err_has("strict_ow.so");
		assert_err_has("writable by group or others (mode 0757)");
	}
	remove_dir(&t, "strict_ow");
}

static void test_writable_dir_refused(void **state)
{
	char want[PATH_MAX];
	struct tmp t;

	(void)state;
	make_dir_with(&t, "strict_wdir", 0755);
	assert_int_equal(chmod(t.dir, 0777), 0);
	assert_null(load_strict(&t, "strict_wdir"));
	/* The directory is named as the culprit, not the file: replacing
	 * the file is what a writable directory allows. */
	snprintf(want, sizeof(want), "strict_wdir.so: %s is writable by group or others (mode 0777)",
		 t.dir);
	assert_err_has(want);
	remove_dir(&t, "strict_wdir");
}

static void test_not_root_owned_so_refused(void **state)
{
	struct tmp t;
	char path[PATH_MAX];

	(void)state;
	make_dir_with(&t, "strict_uid", 0755);
	snprintf(path, sizeof(path), "%s/strict_uid.so", t.dir);
	if (geteuid() == 0)
		assert_int_equal(chown(path, 65534, 65534), 0);
	assert_null(load_strict(&t, "strict_uid"));
	assert_err_has(geteuid() == 0 ? "owned by uid 65534" : "not root");
	remove_dir(&t, "strict_uid");
}

static void test_not_root_owned_dir_refused(void **state)
{
	struct tmp t;

	(void)state;
	if (geteuid() != 0)
		fail_msg("needs root (CI runs as root): ownership cannot be tested otherwise");
	make_dir_with(&t, "strict_udir", 0755);
	assert_int_equal(chown(t.dir, 65534, 65534), 0);
	assert_null(load_strict(&t, "strict_udir"));
	assert_err_has("owned by uid 65534");
	assert_err_has(t.dir);
	remove_dir(&t, "strict_udir");
}

/* A symbolic link to a good directory is refused: the path is not the
 * object, and the link's target could change under it. */
static void test_symlinked_dir_refused(void **state)
{
	char link[PATH_MAX / 4], want[PATH_MAX];
	struct tmp t, l;

	(void)state;
	make_dir_with(&t, "strict_link", 0755);
	snprintf(l.dir, sizeof(l.dir), "/tmp/cnbd-load-XXXXXX");
	assert_non_null(mkdtemp(l.dir));
	assert_int_equal(chmod(l.dir, 0755), 0);
	snprintf(link, sizeof(link), "%s/link", l.dir);
	assert_int_equal(symlink(t.dir, link), 0);
	err[0] = '\0';
	assert_null(backend_load(link, "strict_link", true, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/strict_link.so: %s is a symbolic link", link, link);
	if (geteuid() == 0)
		assert_string_equal(err, want);
	/* Without the requirement, a user's link is theirs to make. */
	assert_non_null(backend_load(link, "strict_link", false, err, sizeof(err)));
	unlink(link);
	rmdir(l.dir);
	remove_dir(&t, "strict_link");
}

/* Each loaded backend is listed once, in load order, with its name and
 * the descriptor of the very file it came from. */
static void test_loaded_list(void **state)
{
	const struct cnbd_backend *b, *again;
	size_t before, n;
	const char *name;
	struct stat a, f;
	char path[PATH_MAX];
	int fd;

	(void)state;
	before = backend_loaded_count();
	b = backend_load(shipped, "null", false, err, sizeof(err));
	assert_non_null(b);
	n = backend_loaded_count();
	/* Loaded now, or by an earlier test: listed either way. */
	assert_true(n == before || n == before + 1);
	again = backend_load(shipped, "null", false, err, sizeof(err));
	assert_ptr_equal(again, b);
	assert_int_equal(backend_loaded_count(), n);
	for (size_t i = 0; i < n; i++) {
		if (backend_loaded_at(i, &name, &fd) != b)
			continue;
		assert_string_equal(name, "null");
		assert_true(fd >= 0);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		snprintf(path, sizeof(path), "%s/null.so", shipped);
		assert_int_equal(fstat(fd, &a), 0);
		assert_int_equal(stat(path, &f), 0);
		assert_int_equal(a.st_dev, f.st_dev);
		assert_int_equal(a.st_ino, f.st_ino);
		assert_null(backend_loaded_at(n, &name, &fd));
		return;
	}
	fail_msg("the null backend is not in the list");
}

/* Without the requirement (not running as root) the same file loads. */
static void test_relaxed_loads_writable(void **state)
{
	struct tmp t;

	(void)state;
	make_dir_with(&t, "relaxed_gw", 0777);
	err[0] = '\0';
	assert_non_null(backend_load(t.dir, "relaxed_gw", false, err, sizeof(err)));
	remove_dir(&t, "relaxed_gw");
}

static int group_setup(void **state)
{
	const char *build = getenv("CNBD_BUILD");

	(void)state;
	if (!build || !*build)
		build = "build";
	snprintf(fixtures, sizeof(fixtures), "%s/tests/unit/fixtures", build);
	snprintf(shipped, sizeof(shipped), "%s/backends", build);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_loads_and_is_cached),
		cmocka_unit_test(test_wrong_major_refused),
		cmocka_unit_test(test_missing_entry_refused),
		cmocka_unit_test(test_null_entry_refused),
		cmocka_unit_test(test_missing_required_callback_refused),
		cmocka_unit_test(test_layer_entry),
		cmocka_unit_test(test_missing_file_refused),
		cmocka_unit_test(test_bad_name_refused),
		cmocka_unit_test(test_old_struct_tail_is_zeroed),
		cmocka_unit_test(test_newer_minor_loads),
		cmocka_unit_test(test_adopt_copies_only_struct_size),
		cmocka_unit_test(test_shipped_backends_load),
		cmocka_unit_test(test_root_owned_loads),
		cmocka_unit_test(test_group_writable_so_refused),
		cmocka_unit_test(test_world_writable_so_refused),
		cmocka_unit_test(test_writable_dir_refused),
		cmocka_unit_test(test_not_root_owned_so_refused),
		cmocka_unit_test(test_not_root_owned_dir_refused),
		cmocka_unit_test(test_relaxed_loads_writable),
		cmocka_unit_test(test_symlinked_dir_refused),
		cmocka_unit_test(test_loaded_list),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
