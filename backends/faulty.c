/* SPDX-License-Identifier: MIT */
/*
 * faulty: wraps another backend and makes chosen requests fail or wait,
 * to test what clients and the server do when storage misbehaves.
 *
 *   [bad]
 *   backend = faulty
 *   inner = memory             ; the wrapped backend (default memory)
 *   size = 64M                 ; every key faulty does not know goes to it
 *   fail-read = 1M-4K,8M-64K   ; reads touching these ranges fail
 *   fail-errno = EIO           ; with this errno (EIO by default)
 *
 * The wrapped backend is loaded by the server (cnbd_backend_lookup), from
 * its backend directory and with the checks it makes on anything loaded
 * as root; a worker gets it from the master with the export.
 *
 * faulty never sets CNBD_BACKEND_NONBLOCKING, whatever it wraps: a delay
 * is a sleep in a data call, and an inline call would hold up every
 * request of the connection behind it. It does declare PARALLEL, so that
 * a delayed request waits alone; around an inner backend that is not
 * PARALLEL it takes a lock per connection for the inner call (never
 * across the delay).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cnbd/backend.h"

#define MAX_RANGES	64
#define MAX_PARAMS	64

struct range {
	uint64_t offset, length;
};

struct ranges {
	struct range r[MAX_RANGES];
	size_t n;
};

enum op { OP_READ, OP_WRITE, OP_TRIM, OP_ZERO, OP_FLUSH, OP_CACHE, OP_EXTENTS };

struct faulty {
	struct cnbd_backend inner;	/* the wrapped backend's ops, adopted */
	char inner_name[72];
	void *inner_export;
	struct ranges fail_read, fail_write, fail_trim, fail_zero, delay_at;
	bool fail_flush;
	double fail_rate;		/* 0..1, any data call */
	int fail_errno;
	unsigned delay_read_ms, delay_write_ms;
	uint64_t seed;			/* 0: per connection, from time and pid */
};

struct faulty_conn {
	struct faulty *f;
	void *inner;
	pthread_mutex_t lock;		/* the inner call, when not PARALLEL */
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

/* Takes faulty's own key; 1 when it was one, 0 when it belongs to the
 * inner backend, -1 on a bad value. */
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

/* ---- the wrapped backend -------------------------------------------- */

static bool valid_name(const char *name)
{
	if (!*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* The inner backend comes from the server's own loader, with its checks
 * on what root loads; in a worker, from what the master handed over. */
static int load_inner(struct faulty *f, const char *name)
{
	const struct cnbd_backend *ops;

	if (!valid_name(name)) {
		cnbd_error("faulty: inner: '%s' is not a backend name", name);
		errno = EINVAL;
		return -1;
	}
	ops = cnbd_backend_lookup(name);
	if (!ops)
		return -1;
	f->inner = *ops;
	snprintf(f->inner_name, sizeof(f->inner_name), "%s", name);
	/* faulty's flags are fixed before any export is opened. */
	if (!(f->inner.flags & CNBD_BACKEND_MULTI_CONN)) {
		cnbd_error("faulty: inner backend '%s' is not safe for several connections (no CNBD_BACKEND_MULTI_CONN), which faulty declares",
			   name);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- export and connection ------------------------------------------ */

static void faulty_close_export(void *handle)
{
	struct faulty *f = handle;

	if (!f)
		return;
	if (f->inner_export && f->inner.close_export)
		f->inner.close_export(f->inner_export);
	free(f);
}

static void *faulty_open_export(const struct cnbd_param *params, size_t n)
{
	struct cnbd_param pass[MAX_PARAMS];
	struct faulty *f = calloc(1, sizeof(*f));
	const char *inner = "memory";
	size_t npass = 0;

	if (!f)
		return NULL;
	f->fail_errno = EIO;
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (!strcmp(params[i].key, "inner")) {
			inner = params[i].value;
			continue;
		}
		rc = own_param(f, params[i].key, params[i].value);
		if (rc < 0)
			goto fail;
		if (rc)
			continue;
		if (npass == MAX_PARAMS) {
			cnbd_error("faulty: more than %d parameters for the inner backend",
				   MAX_PARAMS);
			errno = EINVAL;
			goto fail;
		}
		pass[npass++] = params[i];
	}
	if (load_inner(f, inner) < 0)
		goto fail;
	if (f->inner.open_export) {
		f->inner_export = f->inner.open_export(pass, npass);
		if (!f->inner_export)
			goto fail;
	} else if (npass) {
		cnbd_error("faulty: unknown parameter '%s' (inner backend %s takes none)",
			   pass[0].key, inner);
		errno = EINVAL;
		goto fail;
	}
	return f;
fail:
	faulty_close_export(f);
	return NULL;
}

/* faulty's settings, the inner backend's name, then the inner's own. */
static int faulty_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct faulty *f = handle;

	if (cnbd_pack_bytes(pack, f, sizeof(*f)) < 0)
		return -1;
	if (!f->inner.open_export)
		return 0;
	if (!f->inner.export_pack) {
		errno = ENOTSUP;
		return -1;
	}
	return f->inner.export_pack(f->inner_export, readonly, pack);
}

static void *faulty_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct faulty *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (cnbd_unpack_bytes(pack, f, sizeof(*f)) < 0)
		goto fail;
	f->inner_export = NULL;
	f->inner_name[sizeof(f->inner_name) - 1] = '\0';
	if (load_inner(f, f->inner_name) < 0)
		goto fail;
	if (f->inner.open_export) {
		if (!f->inner.export_unpack)
			goto fail;
		f->inner_export = f->inner.export_unpack(pack, readonly);
		if (!f->inner_export)
			goto fail;
	}
	return f;
fail:
	free(f);
	errno = EINVAL;
	return NULL;
}

static void *faulty_open_conn(void *handle, bool readonly)
{
	struct faulty *f = handle;
	struct faulty_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->f = f;
	c->inner = f->inner.open_conn ? f->inner.open_conn(f->inner_export, readonly)
				      : f->inner_export;
	if (f->inner.open_conn && !c->inner) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->rng_lock, NULL);
	/* Workers are forked from one master: without the pid they would
	 * all draw the same failures. */
	c->rng = f->seed ? f->seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	c->rng |= 1;
	return c;
}

static void faulty_close_conn(void *conn)
{
	struct faulty_conn *c = conn;

	if (c->f->inner.open_conn && c->f->inner.close_conn)
		c->f->inner.close_conn(c->inner);
	pthread_mutex_destroy(&c->lock);
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

/* Delays, then 0 to go on to the inner backend or -1 with errno to fail. */
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

static void enter(struct faulty_conn *c)
{
	if (!(c->f->inner.flags & CNBD_BACKEND_PARALLEL))
		pthread_mutex_lock(&c->lock);
}

static void leave(struct faulty_conn *c)
{
	if (!(c->f->inner.flags & CNBD_BACKEND_PARALLEL))
		pthread_mutex_unlock(&c->lock);
}

/* ---- data calls ------------------------------------------------------ */

static int64_t faulty_get_size(void *conn)
{
	struct faulty_conn *c = conn;

	return c->f->inner.get_size(c->inner);
}

static int faulty_can_write(void *conn)
{
	struct faulty_conn *c = conn;

	if (!c->f->inner.pwrite)
		return 0;
	return c->f->inner.can_write ? c->f->inner.can_write(c->inner) : 1;
}

static int faulty_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
			uint32_t flags)
{
	struct faulty_conn *c = conn;
	int rc;

	if (fate(c, OP_READ, offset, count) < 0)
		return -1;
	enter(c);
	rc = c->f->inner.pread(c->inner, buf, count, offset, flags);
	leave(c);
	return rc;
}

static int faulty_pwrite(void *conn, const void *buf, uint32_t count,
			 uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;
	int rc;

	if (!c->f->inner.pwrite) {
		errno = EROFS;
		return -1;
	}
	if (fate(c, OP_WRITE, offset, count) < 0)
		return -1;
	enter(c);
	rc = c->f->inner.pwrite(c->inner, buf, count, offset, flags);
	leave(c);
	return rc;
}

/* Without the inner's flush there is nothing to make durable. */
static int faulty_flush(void *conn, uint32_t flags)
{
	struct faulty_conn *c = conn;
	int rc = 0;

	if (fate(c, OP_FLUSH, 0, 0) < 0)
		return -1;
	enter(c);
	if (c->f->inner.flush)
		rc = c->f->inner.flush(c->inner, flags);
	leave(c);
	return rc;
}

/* Trim is advisory: without the inner's, keeping the data is right. */
static int faulty_trim(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;
	int rc = 0;

	if (fate(c, OP_TRIM, offset, count) < 0)
		return -1;
	enter(c);
	if (c->f->inner.trim)
		rc = c->f->inner.trim(c->inner, count, offset, flags);
	leave(c);
	return rc;
}

/* Without the inner's zero, ENOTSUP makes the server write zeros (or
 * refuse FAST_ZERO), as it would for the inner backend alone. */
static int faulty_zero(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;
	int rc;

	if (fate(c, OP_ZERO, offset, count) < 0)
		return -1;
	if (!c->f->inner.zero) {
		errno = ENOTSUP;
		return -1;
	}
	enter(c);
	rc = c->f->inner.zero(c->inner, count, offset, flags);
	leave(c);
	return rc;
}

static int faulty_cache(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct faulty_conn *c = conn;
	int rc = 0;

	if (fate(c, OP_CACHE, offset, count) < 0)
		return -1;
	enter(c);
	if (c->f->inner.cache)
		rc = c->f->inner.cache(c->inner, count, offset, flags);
	leave(c);
	return rc;
}

static int faulty_extents(void *conn, uint32_t count, uint64_t offset,
			  uint32_t flags, struct cnbd_extents *e)
{
	struct faulty_conn *c = conn;
	int rc;

	if (!c->f->inner.extents)
		return cnbd_add_extent(e, offset, count, 0);
	enter(c);
	rc = c->f->inner.extents(c->inner, count, offset, flags, e);
	leave(c);
	return rc;
}

static const struct cnbd_backend faulty = {
	CNBD_BACKEND_HEADER,
	.name = "faulty",
	.version = "1.0",
	.description = "wraps another backend and fails or delays chosen requests",
	.params_help =
		"inner=NAME           the wrapped backend, beside faulty.so (default memory)\n"
		"fail-read=OFF-LEN,.. reads touching these ranges fail (also fail-write,\n"
		"                     fail-trim, fail-zero)\n"
		"fail-flush=BOOL      every flush fails\n"
		"fail-rate=P          any data call fails with probability P (0..1)\n"
		"fail-errno=NAME      the errno of a failure (EIO, ENOSPC, EPERM, ...)\n"
		"delay-read-ms=N      reads wait N ms first (also delay-write-ms)\n"
		"delay-at=OFF-LEN,..  only requests touching these ranges wait\n"
		"seed=N               fail-rate's random sequence (default: per worker)\n"
		"anything else        passed to the inner backend",
	/* Never NONBLOCKING: see the top of this file. Every shipped inner
	 * backend shares its storage between workers (MULTI_CONN). */
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN,
	.open_export = faulty_open_export,
	.close_export = faulty_close_export,
	.open_conn = faulty_open_conn,
	.export_pack = faulty_export_pack,
	.export_unpack = faulty_export_unpack,
	.close_conn = faulty_close_conn,
	.get_size = faulty_get_size,
	.pread = faulty_pread,
	.pwrite = faulty_pwrite,
	.flush = faulty_flush,
	.trim = faulty_trim,
	.zero = faulty_zero,
	.cache = faulty_cache,
	.extents = faulty_extents,
	.can_write = faulty_can_write,
};

CNBD_BACKEND_REGISTER(faulty)
