/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cnbd/protocol.h"
#include "engine_harness.h"
#include "common/wire.h"
#include "proto/messages.h"

/* ---- the in-test disk ---------------------------------------------- */

void tdisk_init(struct tdisk *d, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->size = size;
	d->data = calloc(1, size ? size : 1);
	assert_non_null(d->data);
}

void tdisk_free(struct tdisk *d)
{
	free(d->data);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
}

static int note(struct tdisk *d, int *counter, uint32_t count,
		uint64_t offset, uint32_t flags)
{
	int fail;

	pthread_mutex_lock(&d->lock);
	(*counter)++;
	d->last_flags = flags;
	d->last_offset = offset;
	d->last_count = count;
	fail = d->fail_errno;
	pthread_mutex_unlock(&d->lock);
	if (fail) {
		errno = fail;
		return -1;
	}
	/* The engine must never call past the end. */
	if (offset > d->size || count > d->size - offset) {
		fprintf(stderr, "tdisk: call past the end: %llu+%u\n",
			(unsigned long long)offset, count);
		errno = EIO;
		return -1;
	}
	return 0;
}

void tdisk_release(struct tdisk *d)
{
	pthread_mutex_lock(&d->lock);
	d->released = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static int64_t td_get_size(void *conn)
{
	return (int64_t)((struct tdisk *)conn)->size;
}

static void gate_wait(struct tdisk *d, uint64_t offset)
{
	struct timespec until;

	pthread_mutex_lock(&d->lock);
	if (d->gate && offset == d->release_offset) {
		d->released = true;
		pthread_cond_broadcast(&d->cond);
	}
	if (d->gate && offset == d->gate_offset) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		while (!d->released) {
			if (pthread_cond_timedwait(&d->cond, &d->lock, &until) == ETIMEDOUT) {
				d->gate_timed_out = true;
				break;
			}
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static int td_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	struct tdisk *d = conn;

	if (note(d, &d->preads, count, offset, flags) < 0)
		return -1;
	gate_wait(d, offset);
	pthread_mutex_lock(&d->lock);
	memcpy(buf, d->data + offset, count);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int td_pwrite(void *conn, const void *buf, uint32_t count,
		     uint64_t offset, uint32_t flags)
{
	struct tdisk *d = conn;

	if (note(d, &d->pwrites, count, offset, flags) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	memcpy(d->data + offset, buf, count);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int td_flush(void *conn, uint32_t flags)
{
	struct tdisk *d = conn;

	return note(d, &d->flushes, 0, 0, flags);
}

static int td_trim(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct tdisk *d = conn;

	if (note(d, &d->trims, count, offset, flags) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	memset(d->data + offset, 0, count);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int td_zero(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct tdisk *d = conn;

	if (note(d, &d->zeros, count, offset, flags) < 0)
		return -1;
	if ((flags & CNBD_FAST_ZERO) && d->zero_not_fast) {
		errno = ENOTSUP;
		return -1;
	}
	pthread_mutex_lock(&d->lock);
	memset(d->data + offset, 0, count);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int td_cache(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct tdisk *d = conn;

	return note(d, &d->caches, count, offset, flags);
}

const struct cnbd_backend tdisk_full = {
	CNBD_BACKEND_HEADER,
	.name = "tdisk",
	.version = "1",
	.description = "in-test memory disk",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN,
	.get_size = td_get_size,
	.pread = td_pread,
	.pwrite = td_pwrite,
	.flush = td_flush,
	.trim = td_trim,
	.zero = td_zero,
	.cache = td_cache,
};

const struct cnbd_backend tdisk_native_fua = {
	CNBD_BACKEND_HEADER,
	.name = "tdisk-fua",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_NATIVE_FUA,
	.get_size = td_get_size,
	.pread = td_pread,
	.pwrite = td_pwrite,
	.flush = td_flush,
	.trim = td_trim,
	.zero = td_zero,
	.cache = td_cache,
};

const struct cnbd_backend tdisk_plain = {
	CNBD_BACKEND_HEADER,
	.name = "tdisk-plain",
	.get_size = td_get_size,
	.pread = td_pread,
	.pwrite = td_pwrite,
};

const struct cnbd_backend tdisk_readonly_ops = {
	CNBD_BACKEND_HEADER,
	.name = "tdisk-ro",
	.get_size = td_get_size,
	.pread = td_pread,
};

/* ---- exports and hooks -------------------------------------------- */

void harness_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
}

struct cnbd_export *harness_add(struct harness *h, const char *name,
				const char *description,
				const struct cnbd_backend *be, struct tdisk *d)
{
	struct cnbd_export *e;

	assert_true(h->nexports < HARNESS_MAX_EXPORTS);
	e = &h->exports[h->nexports++];
	memset(e, 0, sizeof(*e));
	e->name = (char *)name;
	e->description = (char *)description;
	e->backend = be;
	e->handle = d;
	return e;
}

static const struct cnbd_export *h_find(void *ctx, const char *name)
{
	struct harness *h = ctx;

	pthread_mutex_lock(&h->lock);
	h->finds++;
	pthread_mutex_unlock(&h->lock);
	if (!*name) {
		if (!h->default_name)
			return NULL;
		name = h->default_name;
	}
	for (size_t i = 0; i < h->nexports; i++)
		if (!strcmp(h->exports[i].name, name))
			return &h->exports[i];
	return NULL;
}

static const struct cnbd_export *h_at(void *ctx, size_t index)
{
	struct harness *h = ctx;

	return index < h->nexports ? &h->exports[index] : NULL;
}

static int h_acquire(void *ctx, const struct cnbd_export *exp, char *why,
		     size_t whylen)
{
	struct harness *h = ctx;
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	if (h->refuse && !strcmp(h->refuse, exp->name)) {
		snprintf(why, whylen, "export %s is busy (test)", exp->name);
		rc = -1;
	} else {
		h->acquires++;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static void h_release(void *ctx, const struct cnbd_export *exp)
{
	struct harness *h = ctx;

	(void)exp;
	pthread_mutex_lock(&h->lock);
	h->releases++;
	pthread_mutex_unlock(&h->lock);
}

/* ---- the engine in a thread ---------------------------------------- */

static void *engine_main(void *arg)
{
	struct engine *e = arg;

	e->rc = cnbd_serve_connection(e->server_fd, &e->hooks, &e->opts);
	return NULL;
}

int engine_start(struct engine *e, struct harness *h, int handshake_timeout)
{
	int sv[2];
	struct timeval tv = { .tv_sec = 10 };

	memset(e, 0, sizeof(*e));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	e->client_fd = sv[0];
	e->server_fd = sv[1];
	e->hooks = (struct cnbd_serve_hooks){
		.ctx = h, .find_export = h_find, .export_at = h_at,
		.acquire = h_acquire, .release = h_release,
	};
	e->opts = (struct cnbd_serve_options){
		.handshake_timeout = handshake_timeout, .peer = "unit-test",
	};
	e->rc = -12345;
	assert_int_equal(pthread_create(&e->thread, NULL, engine_main, e), 0);
	e->started = true;
	return e->client_fd;
}

int engine_wait(struct engine *e, int timeout_ms)
{
	struct timespec until;
	int rc;

	if (!e->started || e->joined)
		return e->rc;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	rc = pthread_timedjoin_np(e->thread, NULL, &until);
	if (rc == ETIMEDOUT)
		fail_msg("cnbd_serve_connection did not return within %d ms", timeout_ms);
	assert_int_equal(rc, 0);
	e->joined = true;
	return e->rc;
}

void engine_stop(struct engine *e)
{
	if (!e->started)
		return;
	if (e->client_fd >= 0) {
		close(e->client_fd);
		e->client_fd = -1;
	}
	engine_wait(e, 5000);
}

/* ---- the client side ----------------------------------------------- */

void cli_read(int fd, void *buf, size_t n)
{
	if (read_full(fd, buf, n) < 0)
		fail_msg("client: reading %zu bytes: %s", n,
			 errno == EAGAIN ? "timed out" : strerror(errno));
}

void cli_write(int fd, const void *buf, size_t n)
{
	if (write_full(fd, buf, n) < 0)
		fail_msg("client: writing %zu bytes: %s", n, strerror(errno));
}

bool cli_closed_within(int fd, int timeout_ms)
{
	struct timespec start, now;
	uint8_t sink[65536];

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long left;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
				     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)left) <= 0)
			return false;
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
}

uint16_t cli_greeting(int fd)
{
	uint8_t g[18];

	cli_read(fd, g, sizeof(g));
	assert_true(get_be64(g) == NBD_MAGIC);
	assert_true(get_be64(g + 8) == NBD_IHAVEOPT);
	return get_be16(g + 16);
}

void cli_client_flags(int fd, uint32_t flags)
{
	uint8_t b[4];

	put_be32(b, flags);
	cli_write(fd, b, 4);
}

void cli_handshake(int fd, bool no_zeroes)
{
	uint16_t hf = cli_greeting(fd);

	assert_true(hf & NBD_FLAG_FIXED_NEWSTYLE);
	cli_client_flags(fd, NBD_FLAG_C_FIXED_NEWSTYLE |
			 (no_zeroes ? NBD_FLAG_C_NO_ZEROES : 0));
}

void cli_option(int fd, uint32_t option, const void *data, uint32_t len)
{
	uint8_t hdr[NBD_OPTION_HEADER_SIZE];

	proto_option_encode(hdr, option, len);
	cli_write(fd, hdr, sizeof(hdr));
	if (len)
		cli_write(fd, data, len);
}

void cli_reply(int fd, struct optreply *r)
{
	uint8_t hdr[NBD_OPTION_REPLY_SIZE];
	struct proto_option_reply rep;

	cli_read(fd, hdr, sizeof(hdr));
	assert_true(proto_option_reply_decode(hdr, &rep));
	r->option = rep.option;
	r->type = rep.type;
	r->len = rep.length;
	if (r->len > sizeof(r->data))
		fail_msg("option reply of %u bytes", r->len);
	cli_read(fd, r->data, r->len);
}

uint32_t cli_info(int fd, uint32_t option, const char *name,
		  const uint16_t *req, uint16_t nreq, struct export_info *out)
{
	uint8_t buf[1024];
	size_t nlen = strlen(name), len = 0;
	struct optreply r;

	assert_true(nlen + 6 + 2 * nreq <= sizeof(buf));
	memset(out, 0, sizeof(*out));
	put_be32(buf, nlen);
	memcpy(buf + 4, name, nlen);
	put_be16(buf + 4 + nlen, nreq);
	len = 6 + nlen;
	for (uint16_t i = 0; i < nreq; i++, len += 2)
		put_be16(buf + len, req[i]);
	cli_option(fd, option, buf, len);
	for (;;) {
		cli_reply(fd, &r);
		assert_int_equal(r.option, option);
		if (r.type != NBD_REP_INFO)
			return r.type;
		assert_true(r.len >= 2);
		out->ninfo++;
		switch (get_be16(r.data)) {
		case NBD_INFO_EXPORT:
			assert_int_equal(r.len, 12);
			out->have_export = true;
			out->size = get_be64(r.data + 2);
			out->flags = get_be16(r.data + 10);
			break;
		case NBD_INFO_NAME:
			out->have_name = true;
			snprintf(out->name, sizeof(out->name), "%.*s",
				 (int)r.len - 2, (char *)r.data + 2);
			break;
		case NBD_INFO_DESCRIPTION:
			out->have_desc = true;
			snprintf(out->desc, sizeof(out->desc), "%.*s",
				 (int)r.len - 2, (char *)r.data + 2);
			break;
		case NBD_INFO_BLOCK_SIZE:
			assert_int_equal(r.len, 14);
			out->have_block = true;
			for (int i = 0; i < 3; i++)
				out->block[i] = get_be32(r.data + 2 + 4 * i);
			break;
		default:
			break;
		}
	}
}

void cli_go(int fd, const char *name, struct export_info *out)
{
	static const uint16_t want[] = { NBD_INFO_BLOCK_SIZE };
	uint32_t t;

	cli_handshake(fd, true);
	t = cli_info(fd, NBD_OPT_GO, name, want, 1, out);
	if (t != NBD_REP_ACK)
		fail_msg("GO %s answered 0x%x", name, t);
	assert_true(out->have_export);
}

void cli_request(int fd, uint16_t flags, uint16_t type, uint64_t cookie,
		 uint64_t offset, uint32_t count, const void *payload)
{
	struct proto_request req = {
		.flags = flags, .type = type, .cookie = cookie,
		.offset = offset, .count = count,
	};
	uint8_t r[NBD_REQUEST_SIZE];

	proto_request_encode(r, &req);
	cli_write(fd, r, sizeof(r));
	if (payload && count)
		cli_write(fd, payload, count);
}

uint32_t cli_simple_reply(int fd, uint64_t *cookie)
{
	uint8_t r[NBD_SIMPLE_REPLY_SIZE];
	struct proto_simple_reply rep;

	cli_read(fd, r, sizeof(r));
	if (!proto_simple_reply_decode(r, &rep))
		fail_msg("reply magic 0x%08x", rep.magic);
	*cookie = rep.cookie;
	return rep.error;
}

uint32_t cli_cmd(int fd, uint16_t flags, uint16_t type, uint64_t offset,
		 uint32_t count, const void *payload, void *buf)
{
	static uint64_t next_cookie = 1000;
	uint64_t cookie = ++next_cookie, got;
	uint32_t err;

	cli_request(fd, flags, type, cookie, offset, count,
		    type == NBD_CMD_WRITE ? payload : NULL);
	err = cli_simple_reply(fd, &got);
	if (got != cookie)
		fail_msg("reply cookie %llu for request %llu",
			 (unsigned long long)got, (unsigned long long)cookie);
	if (err == 0 && type == NBD_CMD_READ)
		cli_read(fd, buf, count);
	return err;
}
