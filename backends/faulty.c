/* SPDX-License-Identifier: MIT */
/*
 * faulty: a layer that makes chosen requests fail or wait, to test what
 * clients and the server do when storage misbehaves.
 *
 *   [bad]
 *   backend = faulty
 *   base = memory              ; the layer below (default memory)
 *   size = 64M                 ; every key faulty does not take goes below
 *   fail-read = 1M-4K,8M-64K   ; reads touching these ranges fail
 *   fail-errno = EIO           ; with this errno (EIO by default)
 *
 * The server loads the base and opens the stack (docs/backends.md,
 * "Layers"); faulty calls it through cnbd_next_*.
 *
 * faulty never sets CNBD_BACKEND_NONBLOCKING, whatever it sits on: a
 * delay is a sleep in a data call, and an inline call would hold up every
 * request of the connection behind it. It does declare PARALLEL, so that
 * a delayed request waits alone; a base that is not PARALLEL is called
 * one call at a time by the server (never across the delay).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cnbd/backend.h"

#define MAX_RANGES	64

struct range {
	uint64_t offset, length;
};

struct ranges {
	struct range r[MAX_RANGES];
	size_t n;
};

enum op { OP_READ, OP_WRITE, OP_TRIM, OP_ZERO, OP_FLUSH, OP_CACHE, OP_EXTENTS };

struct faulty {
	struct ranges fail_read, fail_write, fail_trim, fail_zero, delay_at;
	bool fail_flush;
	double fail_rate;		/* 0..1, any data call */
	int fail_errno;
	unsigned delay_read_ms, delay_write_ms;
	uint64_t seed;			/* 0: per connection, from time and pid */
};

struct faulty_conn {
	struct faulty *f;
	struct cnbd_next *next;
	pthread_mutex_t rng_lock;
	uint64_t rng;
};

/* ---- parameters ---------------------------------------------------- */

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EPERM", EPERM },
	{ "EROFS", EROFS }, { "EACCES", EACCES }, { "EINVAL", EINVAL },
	{ "ENOMEM", ENOMEM }, { "EOVERFLOW", EOVERFLOW }, { "ENOTSUP", ENOTSUP },
	{ "ESHUTDOWN", ESHUTDOWN }, { "EDQUOT", EDQUOT }, { "EFBIG", EFBIG },
};

static int parse_errno(const char *v)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(v, errnos[i].name))
			return errnos[i].value;
	cnbd_error("faulty: fail-errno '%s' is not one of EIO, ENOSPC, EPERM, EROFS, EACCES, EINVAL, ENOMEM, EOVERFLOW, ENOTSUP, ESHUTDOWN, EDQUOT, EFBIG",
		   v);
	errno = EINVAL;
	return -1;
}

/* "OFFSET-LENGTH[,OFFSET-LENGTH...]" with size suffixes: 1M-4K. Added to
 * what the key already holds, so a key may also be given twice. */
static int parse_ranges(const char *key, const char *value, struct ranges *out)
{
	char *copy = strdup(value), *item, *save = NULL;
	int rc = 0;

	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(item, '-');
		int64_t off, len;

		if (!dash || out->n == MAX_RANGES) {
			cnbd_error("faulty: %s: '%s' is not OFFSET-LENGTH (at most %d ranges)",
				   key, item, MAX_RANGES);
			rc = -1;
			break;
		}
		*dash = '\0';
		off = cnbd_parse_size(key, item);
		len = off < 0 ? -1 : cnbd_parse_size(key, dash + 1);
		if (off < 0 || len <= 0) {
			if (len == 0)
				cnbd_error("faulty: %s: a range of length 0", key);
			rc = -1;
			break;
		}
		out->r[out->n].offset = off;
		out->r[out->n].length = len;
		out->n++;
	}
	free(copy);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

static int parse_ms(const char *key, const char *value, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || end == value || *end || v > 3600 * 1000 || value[0] == '-') {
		cnbd_error("faulty: %s: '%s' is not a number of milliseconds up to an hour",
			   key, value);
		errno = EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_rate(const char *value, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(value, &end);
	if (errno || end == value || *end || !(*out >= 0.0 && *out <= 1.0)) {
		cnbd_error("faulty: fail-rate: '%s' is not a number from 0 to 1", value);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Takes faulty's own key; 1 when it was one, 0 when it is not one of
 * faulty's (named as faulty.KEY), -1 on a bad value. */
static int own_param(struct faulty *f, const char *k, const char *v)
{
	int64_t n;
	int b;

	if (!strcmp(k, "fail-read"))
		return parse_ranges(k, v, &f->fail_read) < 0 ? -1 : 1;
	if (!strcmp(k, "fail-write"))
		return parse_ranges(k, v, &f->fail_write) < 0 ? -1 : 1;
	if (!strcmp(k, "fail-trim"))
		return parse_ranges(k, v, &f->fail_trim) < 0 ? -1 : 1;
	if (!strcmp(k, "fail-zero"))
		return parse_ranges(k, v, &f->fail_zero) < 0 ? -1 : 1;
	if (!strcmp(k, "delay-at"))
		return parse_ranges(k, v, &f->delay_at) < 0 ? -1 : 1;
	if (!strcmp(k, "fail-flush")) {
		b = cnbd_parse_bool("faulty: fail-flush", v);
		f->fail_flush = b > 0;
		return b < 0 ? -1 : 1;
	}
	if (!strcmp(k, "fail-rate"))
		return parse_rate(v, &f->fail_rate) < 0 ? -1 : 1;
	if (!strcmp(k, "fail-errno"))
		return (f->fail_errno = parse_errno(v)) < 0 ? -1 : 1;
	if (!strcmp(k, "delay-read-ms"))
		return parse_ms(k, v, &f->delay_read_ms) < 0 ? -1 : 1;
	if (!strcmp(k, "delay-write-ms"))
		return parse_ms(k, v, &f->delay_write_ms) < 0 ? -1 : 1;
	if (!strcmp(k, "seed")) {
		n = cnbd_parse_size("faulty: seed", v);
		f->seed = n;
		return n < 0 ? -1 : 1;
	}
	return 0;
}

/* ---- export and connection ------------------------------------------ */

static void faulty_close_export(void *handle)
{
	free(handle);
}

static void *faulty_open_layer(struct cnbd_below *below, const struct cnbd_param *params,
			       size_t n)
{
	struct faulty *f = calloc(1, sizeof(*f));

	(void)below;
	if (!f)
		return NULL;
	f->fail_errno = EIO;
	for (size_t i = 0; i < n; i++) {
		int rc = own_param(f, params[i].key, params[i].value);

		if (rc > 0)
			continue;
		if (rc == 0) {
			cnbd_error("faulty: unknown parameter '%s'", params[i].key);
			errno = EINVAL;
		}
		free(f);
		return NULL;
	}
	return f;
}

/* faulty's settings are all it holds: the levels below pack their own. */
static int faulty_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	(void)readonly;
	return cnbd_pack_bytes(pack, handle, sizeof(struct faulty));
}

static void *faulty_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct faulty *f = calloc(1, sizeof(*f));

	(void)readonly;
	if (f && cnbd_unpack_bytes(pack, f, sizeof(*f)) < 0) {
		free(f);
		return NULL;
	}
	return f;
}

static void *faulty_open_conn(void *handle, struct cnbd_next *next, bool readonly)
{
	struct faulty *f = handle;
	struct faulty_conn *c = calloc(1, sizeof(*c));

	(void)readonly;
	if (!c)
		return NULL;
	c->f = f;
	c->next = next;
	pthread_mutex_init(&c->rng_lock, NULL);
	/* Workers come from one master: without the pid they would all
	 * draw the same failures. */
	c->rng = f->seed ? f->seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	c->rng |= 1;
	return c;
}

static void faulty_close_conn(void *conn)
{
	struct faulty_conn *c = conn;

	pthread_mutex_destroy(&c->rng_lock);
	free(c);
}

/* ---- deciding a request's fate -------------------------------------- */

static bool overlaps(const struct ranges *rs, uint64_t offset, uint32_t count)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct range *r = &rs->r[i];

		if (offset < r->offset + r->length && r->offset < offset + count)
			return true;
	}
	return false;
}

/* xorshift64*: enough randomness to pick failures, no shared state. */
static double draw(struct faulty_conn *c)
{
	uint64_t x;

	pthread_mutex_lock(&c->rng_lock);
	x = c->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	pthread_mutex_unlock(&c->rng_lock);
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *op_name(enum op op)
{
	static const char *const names[] = {
		"read", "write", "trim", "zero", "flush", "cache", "extents",
	};
	return names[op];
}

/* Delays, then 0 to go on to the level below, or -1 with errno to fail. */
static int fate(struct faulty_conn *c, enum op op, uint64_t offset, uint32_t count)
{
	const struct faulty *f = c->f;
	unsigned delay = op == OP_READ ? f->delay_read_ms :
			 op == OP_WRITE ? f->delay_write_ms : 0;
	bool fail = false;

	if (delay && (!f->delay_at.n || overlaps(&f->delay_at, offset, count)))
		sleep_ms(delay);
	switch (op) {
	case OP_READ: fail = overlaps(&f->fail_read, offset, count); break;
	case OP_WRITE: fail = overlaps(&f->fail_write, offset, count); break;
	case OP_TRIM: fail = overlaps(&f->fail_trim, offset, count); break;
	case OP_ZERO: fail = overlaps(&f->fail_zero, offset, count); break;
	case OP_FLUSH: fail = f->fail_flush; break;
	default: break;
	}
	if (!fail && f->fail_rate > 0 && op != OP_EXTENTS)
		fail = draw(c) < f->fail_rate;
	if (!fail)
		return 0;
	cnbd_debug("faulty: failing %s of %u bytes at %llu", op_name(op), count,
		   (unsigned long long)offset);
	errno = f->fail_errno;
	return -1;
}

/* ---- data calls: the fate of each, then the level below ------------- */

static int faulty_can_write(void *conn)
{
	return cnbd_next_can_write(((struct faulty_conn *)conn)->next);
}

static int faulty_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
			uint32_t flags)
{
	struct faulty_conn *c = conn;

	if (fate(c, OP_READ, offset, count) < 0)
		return -1;
	return cnbd_next_pread(c->next, buf, count, offset, flags);
}

static int faulty_pwrite(void *conn, const void *buf, uint32_t count,
			 uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;

	if (fate(c, OP_WRITE, offset, count) < 0)
		return -1;
	return cnbd_next_pwrite(c->next, buf, count, offset, flags);
}

static int faulty_flush(void *conn, uint32_t flags)
{
	struct faulty_conn *c = conn;

	if (fate(c, OP_FLUSH, 0, 0) < 0)
		return -1;
	return cnbd_next_flush(c->next, flags);
}

static int faulty_trim(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;

	if (fate(c, OP_TRIM, offset, count) < 0)
		return -1;
	return cnbd_next_trim(c->next, count, offset, flags);
}

static int faulty_zero(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;

	if (fate(c, OP_ZERO, offset, count) < 0)
		return -1;
	return cnbd_next_zero(c->next, count, offset, flags);
}

static int faulty_cache(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;

	if (fate(c, OP_CACHE, offset, count) < 0)
		return -1;
	return cnbd_next_cache(c->next, count, offset, flags);
}

/* faulty changes no data: what the base says of it holds. */
static int faulty_extents(void *conn, uint32_t count, uint64_t offset,
			  uint32_t flags, struct cnbd_extents *e)
{
	return cnbd_next_extents(((struct faulty_conn *)conn)->next, count, offset, flags, e);
}

static const char *const faulty_keys[] = {
	"fail-read", "fail-write", "fail-trim", "fail-zero", "fail-flush", "fail-rate",
	"fail-errno", "delay-read-ms", "delay-write-ms", "delay-at", "seed", NULL,
};

static const struct cnbd_backend faulty = {
	CNBD_BACKEND_HEADER,
	.name = "faulty",
	.version = "2.0",
	.description = "a layer that fails or delays chosen requests",
	.params_help =
		"base=NAME            the layer below (default memory)\n"
		"fail-read=OFF-LEN,.. reads touching these ranges fail (also fail-write,\n"
		"                     fail-trim, fail-zero)\n"
		"fail-flush=BOOL      every flush fails\n"
		"fail-rate=P          any data call fails with probability P (0..1)\n"
		"fail-errno=NAME      the errno of a failure (EIO, ENOSPC, EPERM, ...)\n"
		"delay-read-ms=N      reads wait N ms first (also delay-write-ms)\n"
		"delay-at=OFF-LEN,..  only requests touching these ranges wait\n"
		"seed=N               fail-rate's random sequence (default: per worker)\n"
		"anything else        for the levels below",
	/* Never NONBLOCKING: see the top of this file. MULTI_CONN where the
	 * base has it (the server's default for a layer). */
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN,
	.close_export = faulty_close_export,
	.export_pack = faulty_export_pack,
	.export_unpack = faulty_export_unpack,
	.close_conn = faulty_close_conn,
	.pread = faulty_pread,
	.pwrite = faulty_pwrite,
	.flush = faulty_flush,
	.trim = faulty_trim,
	.zero = faulty_zero,
	.cache = faulty_cache,
	.extents = faulty_extents,
	.can_write = faulty_can_write,
	.layer_params = faulty_keys,
	.default_base = "memory",
	.open_layer = faulty_open_layer,
	.open_layer_conn = faulty_open_conn,
};

CNBD_LAYER_REGISTER(faulty)
