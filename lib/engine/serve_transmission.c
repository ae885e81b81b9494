/* SPDX-License-Identifier: MIT */
/*
 * The transmission phase. The calling thread reads requests (and WRITE
 * payloads, which must come off the socket in order) through a buffer,
 * so one recv() brings in a whole queue depth of headers. Then:
 *
 * - pool mode (backends that may block): requests are queued, executor
 *   threads run them and reply as each completes, so a slow request never
 *   holds up the ones behind it. A backend that is not
 *   CNBD_BACKEND_PARALLEL gets one executor. In-flight work is bounded in
 *   count (every command) and bytes (those that move data: READ, WRITE,
 *   CACHE, WRITE_ZEROES): a client that sends faster than storage keeps
 *   up is simply not read from.
 * - pool mode with CNBD_BACKEND_NOWAIT (file): each READ and WRITE is
 *   first tried here with CNBD_NOWAIT (page-cache hits complete at once,
 *   with no hand-off); only what would block goes to the executors.
 * - inline mode (CNBD_BACKEND_NONBLOCKING: memory, null): the reading
 *   thread runs each request itself, with no hand-off, and while further
 *   complete requests are already buffered its replies wait in a batch
 *   (reply_batch.h), so a burst of replies costs one writev.
 *   Measured with fio at QD32: the hand-off and the one-read-per-header
 *   cost more server CPU than a 4 KiB memcpy (docs/performance.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cnbd/protocol.h"
#include "common/log.h"
#include "engine/recv_buffer.h"
#include "engine/reply_batch.h"
#include "engine/serve_reply.h"
#include "engine/serve_request.h"
#include "proto/names.h"

#define MAX_THREADS		64
#define DEFAULT_THREADS		8
#define MAX_INFLIGHT		256		/* the kernel sends up to 128 per socket */
#define MAX_INFLIGHT_BYTES	(256ULL << 20)
#define RECV_BUFFER_SIZE	(128 * 1024)	/* 32 4 KiB writes with headers */

struct request_queue {
	struct recv_buffer in;		/* the reader's */
	bool inline_mode;
	bool nowait;			/* try READ/WRITE here before queueing */
	pthread_mutex_t lock;
	pthread_cond_t work;		/* executors wait for requests */
	pthread_cond_t room;		/* the reader waits for room */
	struct request *head, *tail;
	unsigned inflight;		/* queued or executing */
	uint64_t inflight_bytes;
	bool closing;
	struct session *s;
};

/* What a request weighs against MAX_INFLIGHT_BYTES: the bytes it moves.
 * CACHE and WRITE_ZEROES carry no payload but name a range that the
 * backend (or the emulation, through a buffer) reads or writes whole, so
 * they weigh their length like READ and WRITE. TRIM and BLOCK_STATUS
 * move no data: the count bound alone holds them. */
static uint64_t request_bytes(const struct request *r)
{
	switch (r->hdr.type) {
	case NBD_CMD_READ:
	case NBD_CMD_WRITE:
	case NBD_CMD_CACHE:
	case NBD_CMD_WRITE_ZEROES:
		return r->hdr.count;
	default:
		return 0;
	}
}

static void request_free(struct request *r)
{
	free(r->payload);
	free(r);
}

static void *executor(void *arg)
{
	struct request_queue *q = arg;

	for (;;) {
		struct request *r;

		pthread_mutex_lock(&q->lock);
		while (!q->head && !q->closing)
			pthread_cond_wait(&q->work, &q->lock);
		r = q->head;
		if (!r) {
			pthread_mutex_unlock(&q->lock);
			return NULL;
		}
		q->head = r->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->lock);

		request_execute(q->s, r);

		pthread_mutex_lock(&q->lock);
		q->inflight--;
		q->inflight_bytes -= request_bytes(r);
		pthread_cond_signal(&q->room);
		pthread_mutex_unlock(&q->lock);
		request_free(r);
	}
}

static void enqueue(struct request_queue *q, struct request *r)
{
	pthread_mutex_lock(&q->lock);
	r->next = NULL;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

/* Waits until r fits the in-flight bounds, then counts it in. */
static void reserve(struct request_queue *q, const struct request *r)
{
	uint64_t bytes = request_bytes(r);

	pthread_mutex_lock(&q->lock);
	while (q->inflight >= MAX_INFLIGHT ||
	       (q->inflight && q->inflight_bytes + bytes > MAX_INFLIGHT_BYTES))
		pthread_cond_wait(&q->room, &q->lock);
	q->inflight++;
	q->inflight_bytes += bytes;
	pthread_mutex_unlock(&q->lock);
}

static void unreserve(struct request_queue *q, const struct request *r)
{
	pthread_mutex_lock(&q->lock);
	q->inflight--;
	q->inflight_bytes -= request_bytes(r);
	pthread_mutex_unlock(&q->lock);
}

enum read_result {
	READ_GOT_REQUEST,	/* check it and run it */
	READ_GOT_DISC,		/* NBD_CMD_DISC: the client is done */
	READ_CLOSE,		/* the stream ended, broke or is out of step */
};

static enum read_result read_request(struct recv_buffer *in, struct request *r)
{
	uint8_t h[NBD_REQUEST_SIZE];

	if (recv_buffer_read(in, h, sizeof(h)) < 0) {
		if (errno == ECONNRESET)
			log_info("client went away without NBD_CMD_DISC");
		else
			log_info("reading a request: %s", strerror(errno));
		return READ_CLOSE;
	}
	if (!proto_request_decode(h, &r->hdr)) {
		log_info("request with bad magic 0x%08x: closing", r->hdr.magic);
		return READ_CLOSE;
	}
	return r->hdr.type == NBD_CMD_DISC ? READ_GOT_DISC : READ_GOT_REQUEST;
}

/* A WRITE's payload always follows its header, even when the request
 * will be refused: read it (or drop it) to stay in step with the client.
 * Too large to be worth reading is answered and the connection closed. */
static int read_payload(struct session *s, struct recv_buffer *in,
			struct request *r, uint32_t error)
{
	if (r->hdr.type != NBD_CMD_WRITE)
		return 0;
	if (r->hdr.count > s->max_payload) {
		log_info("WRITE of %u bytes exceeds the maximum payload %u: closing",
			 r->hdr.count, s->max_payload);
		reply_error(s, r, NBD_EINVAL, "request exceeds the maximum payload");
		return -1;
	}
	if (error)
		return recv_buffer_discard(in, r->hdr.count);
	r->payload = malloc(r->hdr.count ? r->hdr.count : 1);
	if (!r->payload)
		return -1;
	return recv_buffer_read(in, r->payload, r->hdr.count);
}

/* Is the next request, payload and all, already in the buffer? Only then
 * may a reply wait for company: MSG_MORE before a read that blocks would
 * hold the reply back from a client that is waiting for it. */
static bool next_request_buffered(const struct recv_buffer *in)
{
	size_t have = recv_buffer_pending(in);
	struct proto_request next;

	if (have < NBD_REQUEST_SIZE)
		return false;
	proto_request_decode(recv_buffer_peek(in), &next);
	if (next.type != NBD_CMD_WRITE)
		return true;
	return have - NBD_REQUEST_SIZE >= next.count;
}

/* Runs a request or sends its refusal: on this thread, or queued. */
static void dispatch(struct session *s, struct request_queue *q,
		     struct request *r, uint32_t error)
{
	if (q->inline_mode)
		s->more_follows = next_request_buffered(&q->in);
	if (error) {
		log_debug("%s at %llu of %u bytes refused with error %u",
			  nbd_cmd_name(r->hdr.type), (unsigned long long)r->hdr.offset,
			  r->hdr.count, error);
		reply_error(s, r, error, "invalid request");
	} else if (q->inline_mode) {
		request_execute(s, r);
	} else if (!(q->nowait && request_try_nowait(s, r))) {
		enqueue(q, r);
		return;
	}
	unreserve(q, r);
	request_free(r);
}

static enum transmission_end read_loop(struct session *s, struct request_queue *q)
{
	for (;;) {
		struct request *r = calloc(1, sizeof(*r));
		enum read_result got;
		uint32_t error;

		if (!r)
			return TRANSMISSION_FAILED;
		got = read_request(&q->in, r);
		if (got != READ_GOT_REQUEST) {
			free(r);
			return got == READ_GOT_DISC ? TRANSMISSION_DISCONNECTED :
						      TRANSMISSION_FAILED;
		}
		if (s->hooks->request_done)
			r->start_ns = serve_now_ns();
		error = request_check(s, r);
		reserve(q, r);
		if (read_payload(s, &q->in, r, error) < 0) {
			unreserve(q, r);
			request_free(r);
			return TRANSMISSION_FAILED;
		}
		dispatch(s, q, r, error);
	}
}

static int executor_count(const struct session *s, int wanted)
{
	if (!(s->be->flags & CNBD_BACKEND_PARALLEL))
		return 1;
	if (wanted <= 0)
		return DEFAULT_THREADS;
	return wanted > MAX_THREADS ? MAX_THREADS : wanted;
}

enum transmission_end serve_transmission(struct session *s, int threads)
{
	struct request_queue q = { .s = s };
	pthread_t tids[MAX_THREADS];
	int n = executor_count(s, threads), started = 0;
	enum transmission_end rc;

	q.inline_mode = s->be->flags & CNBD_BACKEND_NONBLOCKING;
	if (q.inline_mode && !(s->batch = calloc(1, sizeof(*s->batch))))
		return TRANSMISSION_FAILED;
	/* Only a parallel backend may run one call here while executors
	 * run others. */
	q.nowait = (s->be->flags & CNBD_BACKEND_NOWAIT) &&
		   (s->be->flags & CNBD_BACKEND_PARALLEL);
	if (recv_buffer_init(&q.in, &s->io, RECV_BUFFER_SIZE) < 0) {
		free(s->batch);
		s->batch = NULL;
		return TRANSMISSION_FAILED;
	}
	pthread_mutex_init(&q.lock, NULL);
	pthread_cond_init(&q.work, NULL);
	pthread_cond_init(&q.room, NULL);
	for (; !q.inline_mode && started < n; started++)
		if (pthread_create(&tids[started], NULL, executor, &q))
			break;
	if (!q.inline_mode && !started) {
		log_error("cannot start a request thread");
		rc = TRANSMISSION_FAILED;
		goto out;
	}
	if (s->hooks->serving)
		s->hooks->serving(s->hooks->ctx);
	rc = read_loop(s, &q);
	/* DISC or not, what was queued runs to completion: a write the
	 * client sent may still be acknowledged if the client is there. */
	pthread_mutex_lock(&q.lock);
	q.closing = true;
	pthread_cond_broadcast(&q.work);
	pthread_mutex_unlock(&q.lock);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	/* The replies before a DISC (or a broken request) that was
	 * already buffered. */
	reply_flush(s);
out:
	free(s->batch);
	s->batch = NULL;
	recv_buffer_free(&q.in);
	pthread_cond_destroy(&q.room);
	pthread_cond_destroy(&q.work);
	pthread_mutex_destroy(&q.lock);
	return rc;
}
