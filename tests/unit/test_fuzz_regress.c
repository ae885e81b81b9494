/* SPDX-License-Identifier: MIT */
/*
 * Replays every fuzz seed (tests/fuzz/corpus/<target>/) and every input
 * that once crashed a fuzz target (tests/fuzz/regress/<target>/) through
 * the target functions, built with the project's compiler: a bug the
 * fuzzer found stays fixed in `make check` and `make check SANITIZE=1`
 * without clang. A crash, a sanitizer report or a hang (the test's time
 * limit) fails it. Each file's name is printed first, so a failure names
 * its input.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fuzz_target.h"

struct target {
	const char *name;
	void (*fn)(const uint8_t *data, size_t len);
};

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc(n ? n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	*len = n;
	return buf;
}

/* Replays the regular files of dir; returns how many. A missing
 * directory holds nothing. */
static int replay_dir(const struct target *t, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), done = 0;

	for (int i = 0; i < n; i++) {
		char path[4096];
		uint8_t *data;
		size_t len;

		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			fprintf(stderr, "replay %s\n", path);
			data = slurp(path, &len);
			t->fn(data, len);
			free(data);
			done++;
		}
		free(names[i]);
	}
	free(n >= 0 ? names : NULL);
	return done;
}

static void replay(void **state)
{
	const struct target *t = *state;
	const char *src = getenv("CNBD_SRC");
	char dir[4096];
	int seeds;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", src ? src : ".", t->name);
	seeds = replay_dir(t, dir);
	/* An empty corpus would make this test pass by testing nothing. */
	assert_true(seeds > 0);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regress/%s", src ? src : ".", t->name);
	replay_dir(t, dir);
}

static struct target targets[] = {
	{ "server_options", fuzz_server_options },
	{ "server_requests", fuzz_server_requests },
	{ "client_replies", fuzz_client_replies },
	{ "config", fuzz_config },
	{ "uri", fuzz_uri },
	{ "parse", fuzz_parse },
};

/* One test per target, named after it. */
#define REPLAY(i, target) { .name = #target, .test_func = replay, \
			    .initial_state = &targets[i] }

int main(void)
{
	const struct CMUnitTest tests[] = {
		REPLAY(0, server_options), REPLAY(1, server_requests),
		REPLAY(2, client_replies), REPLAY(3, config), REPLAY(4, uri),
		REPLAY(5, parse),
	};

	fuzz_init_once();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
