/* SPDX-License-Identifier: MIT */
/*
 * Stacks of backends (lib/backend/stack*.c), with levels defined here:
 * a RAM disk at the bottom that counts its calls and remembers how it was
 * opened, and layers that pass through, transform (XOR) or keep their
 * base read-only. What is checked: where each key goes, which level a
 * call reaches (pass-through, and the three calls that stop at a level
 * that changes data), the composed flags, read-only bases, FUA at a level
 * that does not take it, the hand-over of every level's state through
 * one pack, and commands.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/export_pack.h"
#include "backend/stack.h"
#include "engine/extents.h"

#define DISK	4096

/* ---- the bottom: ram ---- */

static struct {
	unsigned opens, preads, pwrites, zeros, flushes, trims, extents;
	bool opened_readonly;
	char last_param[64];
	uint32_t last_flags;
} ram_seen;

struct ram {
	char data[DISK];
	char tag[16];
};

static void *ram_open_export(const struct cnbd_param *p, size_t n)
{
	struct ram *r = calloc(1, sizeof(*r));

	for (size_t i = 0; i < n; i++)
		snprintf(ram_seen.last_param, sizeof(ram_seen.last_param), "%s=%s", p[i].key,
			 p[i].value);
	snprintf(r->tag, sizeof(r->tag), "ram");
	return r;
}

static void ram_close_export(void *h)
{
	free(h);
}

static void *ram_open_conn(void *h, bool readonly)
{
	ram_seen.opens++;
	ram_seen.opened_readonly = readonly;
	return h;
}

static int64_t ram_get_size(void *c)
{
	(void)c;
	return DISK;
}

static int ram_pread(void *c, void *buf, uint32_t n, uint64_t off, uint32_t f)
{
	(void)f;
	ram_seen.preads++;
	memcpy(buf, ((struct ram *)c)->data + off, n);
	return 0;
}

static int ram_pwrite(void *c, const void *buf, uint32_t n, uint64_t off, uint32_t f)
{
	ram_seen.pwrites++;
	ram_seen.last_flags = f;
	memcpy(((struct ram *)c)->data + off, buf, n);
	return 0;
}

static int ram_zero(void *c, uint32_t n, uint64_t off, uint32_t f)
{
	(void)f;
	ram_seen.zeros++;
	memset(((struct ram *)c)->data + off, 0, n);
	return 0;
}

static int ram_flush(void *c, uint32_t f)
{
	(void)c;
	(void)f;
	ram_seen.flushes++;
	return 0;
}

static int ram_extents(void *c, uint32_t n, uint64_t off, uint32_t f, struct cnbd_extents *e)
{
	(void)c;
	(void)f;
	ram_seen.extents++;
	return cnbd_add_extent(e, off, n, CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO);
}

static int ram_pack(void *h, bool ro, struct cnbd_pack *p)
{
	(void)ro;
	return cnbd_pack_bytes(p, h, sizeof(struct ram));
}

static void *ram_unpack(struct cnbd_pack *p, bool ro)
{
	struct ram *r = malloc(sizeof(*r));

	(void)ro;
	cnbd_unpack_bytes(p, r, sizeof(*r));
	return r;
}

static const struct cnbd_backend ram = {
	CNBD_BACKEND_HEADER,
	.name = "ram",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN | CNBD_BACKEND_NONBLOCKING |
		 CNBD_BACKEND_ROTATIONAL,
	.open_export = ram_open_export, .close_export = ram_close_export,
	.open_conn = ram_open_conn,
	.get_size = ram_get_size, .pread = ram_pread, .pwrite = ram_pwrite,
	.zero = ram_zero, .flush = ram_flush, .extents = ram_extents,
	.export_pack = ram_pack, .export_unpack = ram_unpack,
};

/* ---- layers ---- */

struct layer_export {
	unsigned char key;
	char own[64];
};

struct layer_conn {
	struct layer_export *x;
	struct cnbd_next *next;
};

static void *layer_open(struct cnbd_below *below, const struct cnbd_param *p, size_t n)
{
	struct layer_export *x = calloc(1, sizeof(*x));

	(void)below;
	x->key = 0x5a;
	for (size_t i = 0; i < n; i++)
		snprintf(x->own, sizeof(x->own), "%s=%s", p[i].key, p[i].value);
	return x;
}

static void *layer_open_conn(void *h, struct cnbd_next *next, bool ro)
{
	struct layer_conn *c = calloc(1, sizeof(*c));

	(void)ro;
	c->x = h;
	c->next = next;
	return c;
}

static void layer_close_conn(void *c)
{
	free(c);
}

static int layer_pack(void *h, bool ro, struct cnbd_pack *p)
{
	(void)ro;
	return cnbd_pack_bytes(p, h, sizeof(struct layer_export));
}

static void *layer_unpack(struct cnbd_pack *p, bool ro)
{
	struct layer_export *x = malloc(sizeof(*x));

	(void)ro;
	cnbd_unpack_bytes(p, x, sizeof(*x));
	return x;
}

static int xor_pread(void *c, void *buf, uint32_t n, uint64_t off, uint32_t f)
{
	struct layer_conn *lc = c;
	unsigned char *b = buf;

	if (cnbd_next_pread(lc->next, buf, n, off, f) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		b[i] ^= lc->x->key;
	return 0;
}

static int xor_pwrite(void *c, const void *buf, uint32_t n, uint64_t off, uint32_t f)
{
	struct layer_conn *lc = c;
	unsigned char tmp[DISK];

	for (uint32_t i = 0; i < n; i++)
		tmp[i] = ((const unsigned char *)buf)[i] ^ lc->x->key;
	return cnbd_next_pwrite(lc->next, tmp, n, off, f);
}

static int cmd_count;

static int layer_command(void *h, const char *cmd, char *msg, size_t len)
{
	(void)h;
	if (strcmp(cmd, "poke")) {
		errno = ENOTSUP;
		return -1;
	}
	cmd_count++;
	snprintf(msg, len, "poked");
	return 0;
}

static const char *const xor_keys[] = { "key", NULL };

/* Transforms data: pread and pwrite, nothing else. */
static const struct cnbd_backend xor_layer = {
	CNBD_BACKEND_HEADER,
	.name = "xor",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN | CNBD_BACKEND_NONBLOCKING,
	.close_export = ram_close_export, .close_conn = layer_close_conn,
	.pread = xor_pread, .pwrite = xor_pwrite,
	.export_pack = layer_pack, .export_unpack = layer_unpack,
	.layer_params = xor_keys,
	.open_layer = layer_open, .open_layer_conn = layer_open_conn,
};

/* Passes everything through; not PARALLEL, no MULTI_CONN, a command. */
static const struct cnbd_backend pass_layer = {
	CNBD_BACKEND_HEADER,
	.name = "pass",
	.close_export = ram_close_export, .close_conn = layer_close_conn,
	.export_pack = layer_pack, .export_unpack = layer_unpack,
	.open_layer = layer_open, .open_layer_conn = layer_open_conn,
	.export_command = layer_command,
};

static uint32_t ro_flags(void *h, uint32_t below)
{
	(void)h;
	return CNBD_BACKEND_PARALLEL | CNBD_BACKEND_NONBLOCKING |
	       (below & CNBD_BACKEND_MULTI_CONN);
}

/* Keeps its base read-only; parallel itself, flags of its own. */
static const struct cnbd_backend ro_layer = {
	CNBD_BACKEND_HEADER,
	.name = "ro",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_BASE_READONLY,
	.close_conn = layer_close_conn,
	.open_layer_conn = layer_open_conn,
	.export_flags = ro_flags,
};

static char err[1024];

static struct stack *open2(const struct cnbd_backend *top, const struct cnbd_param *p,
			   size_t n)
{
	const struct cnbd_backend *levels[] = { top, &ram };

	memset(&ram_seen, 0, sizeof(ram_seen));
	err[0] = '\0';
	return stack_open(levels, 2, p, n, err, sizeof(err));
}

/* ---- tests ---- */

static void test_keys_go_to_their_level(void **state)
{
	const struct cnbd_param p[] = { { "key", "9" }, { "size", "1M" } };
	const struct cnbd_param q[] = { { "ram.key", "7" } };
	struct stack *st;

	(void)state;
	st = open2(&xor_layer, p, 2);
	assert_non_null(st);
	assert_string_equal(((struct layer_export *)st->lv[0].handle)->own, "key=9");
	assert_string_equal(ram_seen.last_param, "size=1M");
	assert_string_equal(st->name, "xor+ram");
	stack_close(st);
	/* LAYER.key: the level named, even for a key a layer above lists. */
	st = open2(&xor_layer, q, 1);
	assert_string_equal(((struct layer_export *)st->lv[0].handle)->own, "");
	assert_string_equal(ram_seen.last_param, "key=7");
	stack_close(st);
}

static void test_pass_through_reaches_the_bottom(void **state)
{
	struct stack *st;
	struct stack_conn *sc;
	char buf[16];

	(void)state;
	st = open2(&pass_layer, NULL, 0);
	assert_non_null(st);
	sc = st->ops.open_conn(st, false);
	assert_non_null(sc);
	assert_int_equal(st->ops.get_size(sc), DISK);
	assert_int_equal(st->ops.pwrite(sc, "hello", 5, 100, 0), 0);
	assert_int_equal(st->ops.pread(sc, buf, 5, 100, 0), 0);
	assert_memory_equal(buf, "hello", 5);
	assert_non_null(st->ops.zero);
	assert_int_equal(st->ops.zero(sc, 5, 100, 0), 0);
	assert_int_equal(ram_seen.zeros, 1);
	assert_non_null(st->ops.extents);
	assert_int_equal(st->ops.can_write(sc), 1);
	st->ops.close_conn(sc);
	stack_close(st);
}

/* Zeros below a layer that transforms would not read as zeros through
 * it: they are written through its pwrite, and FAST_ZERO is refused. */
static void test_zero_and_extents_stop_at_a_transforming_layer(void **state)
{
	struct cnbd_extents *e = extents_new(0, 4096, false);
	const struct cnbd_extent_entry *x;
	struct stack *st;
	struct stack_conn *sc;
	unsigned char buf[64];

	(void)state;
	st = open2(&xor_layer, NULL, 0);
	sc = st->ops.open_conn(st, false);
	assert_null(st->ops.zero);		/* the engine emulates, no FAST_ZERO */
	assert_null(st->ops.read_fd);
	assert_int_equal(cnbd_next_zero(&sc->next[0], 64, 0, CNBD_FAST_ZERO), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(cnbd_next_zero(&sc->next[0], 64, 0, 0), 0);
	assert_int_equal(ram_seen.zeros, 0);
	assert_int_equal(st->ops.pread(sc, buf, 64, 0, 0), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf[i], 0);
	/* The bottom holds the XORed zeros. */
	assert_int_equal(((struct ram *)st->lv[1].handle)->data[0], 0x5a);
	/* ram says "hole", but what xor reads there is 0x5a: data. The
	 * engine's default for a stack without extents, and what a layer
	 * above would hear. */
	assert_null(st->ops.extents);
	assert_int_equal(cnbd_next_extents(&sc->next[0], 4096, 0, 0, e), 0);
	x = extents_get(e, 0);
	assert_int_equal(x->type, 0);
	assert_int_equal(ram_seen.extents, 0);
	extents_free(e);
	st->ops.close_conn(sc);
	stack_close(st);
}

static void test_flags_compose(void **state)
{
	struct stack *st;

	(void)state;
	st = open2(&xor_layer, NULL, 0);
	/* Both MULTI_CONN and NONBLOCKING; ROTATIONAL from below. */
	assert_int_equal(st->ops.flags, CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN |
			 CNBD_BACKEND_NONBLOCKING | CNBD_BACKEND_ROTATIONAL);
	assert_false(st->lv[1].locked);
	stack_close(st);
	st = open2(&pass_layer, NULL, 0);
	/* pass declares nothing: no MULTI_CONN, not PARALLEL, so no lock. */
	assert_int_equal(st->ops.flags, CNBD_BACKEND_ROTATIONAL);
	assert_false(st->lv[1].locked);
	stack_close(st);
}

static void test_non_parallel_level_under_a_parallel_one_is_locked(void **state)
{
	const struct cnbd_backend *levels[] = { &xor_layer, &pass_layer, &ram };
	struct stack *st;

	(void)state;
	st = stack_open(levels, 3, NULL, 0, err, sizeof(err));
	assert_non_null(st);
	assert_true(st->ops.flags & CNBD_BACKEND_PARALLEL);
	assert_true(st->lv[1].locked);
	assert_false(st->lv[2].locked);
	assert_false(st->ops.flags & CNBD_BACKEND_MULTI_CONN);
	stack_close(st);
}

static void test_base_readonly(void **state)
{
	struct stack *st;
	struct stack_conn *sc;
	struct cnbd_next *w;

	(void)state;
	st = open2(&ro_layer, NULL, 0);
	assert_non_null(st);
	assert_true(st->lv[1].readonly);
	assert_int_equal(st->ops.flags, CNBD_BACKEND_PARALLEL | CNBD_BACKEND_NONBLOCKING |
			 CNBD_BACKEND_MULTI_CONN);
	sc = st->ops.open_conn(st, false);
	assert_true(ram_seen.opened_readonly);
	st->ops.close_conn(sc);
	/* The layer's own connection of its base, in the master: writable. */
	w = cnbd_below_open(&st->below[1], false);
	assert_non_null(w);
	assert_false(ram_seen.opened_readonly);
	cnbd_below_close(w);
	stack_close(st);
}

/* ram has no NATIVE_FUA: a FUA write becomes the write and a flush. */
static void test_fua_emulated_where_not_native(void **state)
{
	struct stack *st;
	struct stack_conn *sc;

	(void)state;
	st = open2(&pass_layer, NULL, 0);
	sc = st->ops.open_conn(st, false);
	assert_int_equal(cnbd_next_pwrite(&sc->next[0], "x", 1, 0, CNBD_FUA), 0);
	assert_int_equal(ram_seen.last_flags & CNBD_FUA, 0);
	assert_int_equal(ram_seen.flushes, 1);
	st->ops.close_conn(sc);
	stack_close(st);
}

static void test_pack_carries_every_level(void **state)
{
	const struct cnbd_backend *levels[] = { &xor_layer, &ram };
	const struct cnbd_param p[] = { { "key", "3" } };
	static struct cnbd_pack pack;
	struct stack *st, *w;
	struct stack_conn *sc;
	char buf[4];

	(void)state;
	st = open2(&xor_layer, p, 1);
	sc = st->ops.open_conn(st, false);
	st->ops.pwrite(sc, "abcd", 4, 10, 0);
	st->ops.close_conn(sc);
	assert_ptr_equal(stack_of(&st->ops, st), st);
	assert_null(stack_of(&ram, NULL));
	pack_init(&pack);
	assert_int_equal(st->ops.export_pack(st, false, &pack), 0);
	w = stack_unpack(levels, 2, &pack, false);
	assert_non_null(w);
	assert_string_equal(((struct layer_export *)w->lv[0].handle)->own, "key=3");
	sc = w->ops.open_conn(w, false);
	assert_int_equal(w->ops.pread(sc, buf, 4, 10, 0), 0);
	assert_memory_equal(buf, "abcd", 4);
	w->ops.close_conn(sc);
	stack_close(w);
	stack_close(st);
}

static void test_commands_go_to_the_level_that_has_them(void **state)
{
	const struct cnbd_backend *levels[] = { &xor_layer, &pass_layer, &ram };
	struct stack *st;
	char msg[128];

	(void)state;
	st = stack_open(levels, 3, NULL, 0, err, sizeof(err));
	cmd_count = 0;
	assert_int_equal(st->ops.export_command(st, "poke", msg, sizeof(msg)), 0);
	assert_int_equal(cmd_count, 1);
	assert_string_equal(msg, "poked");
	assert_int_equal(st->ops.export_command(st, "commit", msg, sizeof(msg)), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_non_null(strstr(msg, "no level of xor+pass+ram takes the command 'commit'"));
	stack_close(st);
}

static void test_params_for_a_layer_without_state_refused(void **state)
{
	const struct cnbd_param p[] = { { "ro.x", "1" } };

	(void)state;
	assert_null(open2(&ro_layer, p, 1));
	assert_non_null(strstr(err, "layer 'ro' takes no parameters"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_go_to_their_level),
		cmocka_unit_test(test_pass_through_reaches_the_bottom),
		cmocka_unit_test(test_zero_and_extents_stop_at_a_transforming_layer),
		cmocka_unit_test(test_flags_compose),
		cmocka_unit_test(test_non_parallel_level_under_a_parallel_one_is_locked),
		cmocka_unit_test(test_base_readonly),
		cmocka_unit_test(test_fua_emulated_where_not_native),
		cmocka_unit_test(test_pack_carries_every_level),
		cmocka_unit_test(test_commands_go_to_the_level_that_has_them),
		cmocka_unit_test(test_params_for_a_layer_without_state_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
