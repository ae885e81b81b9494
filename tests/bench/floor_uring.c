// SPDX-License-Identifier: MIT
/*
 * floor_uring: the floor (floor_server.c) with its transmission loop on
 * io_uring, to tell from data whether io_uring lowers the cost of the
 * system calls themselves (issue 16) before an engine is built on it.
 *
 *   floor_uring [-s SIZE] [-t defer|coop|none] PORT
 *
 * The same listener, thread per connection and handshake as the floor
 * (floor_handshake.c), the same answers (zeros for reads, simple
 * replies, writes dropped, no checks). What differs is how the bytes
 * move: one multishot receive per connection fills buffers the kernel
 * picks from a provided buffer ring (so no system call per receive, and
 * no buffer tied up while the socket is idle); every completion burst is
 * parsed, its buffers handed straight back, and its replies go out in
 * one IORING_OP_SENDMSG; the send and the wait for the next completions
 * are one io_uring_enter (io_uring_submit_and_wait).
 *
 * One send in flight at a time (a second send on the same socket could
 * overtake the first if the first had to wait for room): replies that
 * come in while it is in flight gather in the other of two batches.
 *
 * A benchmark tool, not a server: it trusts its client completely.
 */
#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cnbd/protocol.h"
#include "floor_handshake.h"

#define BUF_BYTES	(64u << 10)	/* one provided buffer */
#define BUF_COUNT	64		/* in the ring: 4 MiB, as floor_server's recv */
#define BGID		0
#define RING_ENTRIES	64
#define ZERO_BYTES	(1u << 20)	/* reads point into this, in pieces */
#define MAX_IOV		IOV_MAX
#define REQ_BYTES	FLOOR_REQ_BYTES
#define REPLY_BYTES	FLOOR_REPLY_BYTES

enum { TAG_RECV = 1, TAG_SEND };

static char zeros[ZERO_BYTES];

/*
 * The ring's setup flags (-t). coop = COOP_TASKRUN: completions wait
 * for the thread's next kernel entry instead of interrupting it; defer =
 * SINGLE_ISSUER | DEFER_TASKRUN: they run only inside our own
 * io_uring_enter; none = the default. Default coop: in an A/B of the
 * three (4K randread and randwrite QD32, 3 runs of 3 s each, 2026-12-04
 * 22:26 UTC) their CPU per request was within 0.6 us of each other,
 * inside the noise, and coop had the highest rate in every cell.
 */
static unsigned ring_flags = IORING_SETUP_COOP_TASKRUN;

struct batch {
	struct iovec iov[MAX_IOV];
	uint8_t headers[MAX_IOV][REPLY_BYTES];
	struct msghdr msg;	/* msg_iov: the first iovec not yet sent */
	int n;
};

struct conn {
	int fd;
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	uint8_t *bufs;			/* BUF_COUNT * BUF_BYTES */
	int returned;			/* buffers given back, not yet published */
	bool multishot;			/* false if the kernel refused it */
	bool done;
	uint8_t req[REQ_BYTES];		/* a header split across two buffers */
	size_t req_have;
	uint64_t skip;			/* write payload still to come */
	uint8_t write_req[REQ_BYTES];	/* its request, answered once it is in */
	struct batch out[2];
	int filling;			/* out[filling] gathers replies */
	bool sending;			/* out[!filling] is in flight */
};

static struct io_uring_sqe *get_sqe(struct conn *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);

	if (!sqe) {		/* full: push what is queued, then retry */
		io_uring_submit(&c->ring);
		sqe = io_uring_get_sqe(&c->ring);
	}
	return sqe;
}

static int arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(c);

	if (!sqe)
		return -1;
	if (c->multishot)
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, c->fd, NULL, BUF_BYTES, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, TAG_RECV);
	return 0;
}

static int submit_send(struct conn *c, struct batch *b)
{
	struct io_uring_sqe *sqe = get_sqe(c);

	if (!sqe)
		return -1;
	io_uring_prep_sendmsg(sqe, c->fd, &b->msg, MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, TAG_SEND);
	return 0;
}

/* Sends out[filling] (if it has anything) and starts filling the other. */
static int start_send(struct conn *c)
{
	struct batch *b = &c->out[c->filling];

	if (c->sending || !b->n)
		return 0;
	memset(&b->msg, 0, sizeof(b->msg));
	b->msg.msg_iov = b->iov;
	b->msg.msg_iovlen = (size_t)b->n;
	if (submit_send(c, b))
		return -1;
	c->sending = true;
	c->filling ^= 1;
	return 0;
}

static int send_done(struct conn *c, int res)
{
	struct batch *b = &c->out[c->filling ^ 1];
	struct msghdr *m = &b->msg;
	size_t put = res > 0 ? (size_t)res : 0;

	if (res < 0)
		return -1;
	while (m->msg_iovlen && put >= m->msg_iov->iov_len) {
		put -= m->msg_iov->iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
	if (m->msg_iovlen) {	/* short despite MSG_WAITALL: send the rest */
		m->msg_iov->iov_base = (char *)m->msg_iov->iov_base + put;
		m->msg_iov->iov_len -= put;
		return submit_send(c, b);
	}
	b->n = 0;
	c->sending = false;
	return 0;
}

/* One simple reply; a read's data follows it in pieces of the zeros. */
static int reply(struct conn *c, const uint8_t *req, uint32_t len)
{
	int need = 1 + (int)((len + ZERO_BYTES - 1) / ZERO_BYTES);
	struct batch *b = &c->out[c->filling];

	if (b->n + need > MAX_IOV) {
		if (c->sending) {
			fprintf(stderr, "floor_uring: more than %d replies waiting on "
				"one send; the floor is sized for fio's queue depths\n",
				MAX_IOV / 2);
			return -1;
		}
		if (start_send(c))
			return -1;
		b = &c->out[c->filling];
	}
	floor_put_reply(b->headers[b->n], req);
	b->iov[b->n].iov_base = b->headers[b->n];
	b->iov[b->n].iov_len = REPLY_BYTES;
	b->n++;
	while (len) {
		uint32_t piece = len < ZERO_BYTES ? len : ZERO_BYTES;
		b->iov[b->n++] = (struct iovec){ zeros, piece };
		len -= piece;
	}
	return 0;
}

static int request(struct conn *c, const uint8_t *req)
{
	uint16_t type;
	uint32_t len;

	memcpy(&type, req + 6, 2);
	memcpy(&len, req + 24, 4);
	type = be16toh(type);
	len = be32toh(len);
	if (type == NBD_CMD_DISC)
		return -1;
	if (type == NBD_CMD_WRITE && len) {
		memcpy(c->write_req, req, REQ_BYTES);
		c->skip = len;
		return 0;
	}
	return reply(c, req, type == NBD_CMD_READ ? len : 0);
}

/*
 * Uses the bytes of one buffer; a header or a payload may run on into
 * the next buffer. Nothing points into the buffer afterwards (replies
 * copy the cookie), so it goes back to the ring at once. -1 at DISC.
 */
static int parse(struct conn *c, const uint8_t *p, size_t len)
{
	while (len) {
		if (c->skip) {
			size_t take = len < c->skip ? len : c->skip;
			p += take;
			len -= take;
			c->skip -= take;
			if (c->skip)
				break;
			/* libnbd matches a reply only to a request it has
			 * finished sending: answer after the payload. */
			if (reply(c, c->write_req, 0))
				return -1;
			continue;
		}
		if (!c->req_have && len >= REQ_BYTES) {
			const uint8_t *req = p;
			p += REQ_BYTES;
			len -= REQ_BYTES;
			if (request(c, req))
				return -1;
			continue;
		}
		size_t take = REQ_BYTES - c->req_have;
		if (take > len)
			take = len;
		memcpy(c->req + c->req_have, p, take);
		c->req_have += take;
		p += take;
		len -= take;
		if (c->req_have < REQ_BYTES)
			break;
		c->req_have = 0;
		if (request(c, c->req))
			return -1;
	}
	return 0;
}

static void give_back(struct conn *c, unsigned bid)
{
	io_uring_buf_ring_add(c->br, c->bufs + (size_t)bid * BUF_BYTES, BUF_BYTES,
			      (unsigned short)bid, io_uring_buf_ring_mask(BUF_COUNT),
			      c->returned++);
}

static int recv_done(struct conn *c, const struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	if (res > 0) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		int r = parse(c, c->bufs + (size_t)bid * BUF_BYTES, (size_t)res);

		give_back(c, bid);
		if (r)
			return -1;
	} else if (res == -EINVAL && c->multishot) {
		c->multishot = false;	/* a kernel before 6.0: one-shot */
	} else if (res != -ENOBUFS) {	/* out of buffers: re-armed below */
		return -1;		/* end of stream or an error */
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		return arm_recv(c);
	return 0;
}

static void handle(struct conn *c, const struct io_uring_cqe *cqe)
{
	uint64_t tag = io_uring_cqe_get_data64(cqe);

	if (c->done)
		return;
	if (tag == TAG_RECV ? recv_done(c, cqe) : send_done(c, cqe->res))
		c->done = true;
}

static void run(struct conn *c)
{
	while (!c->done) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int r = io_uring_submit_and_wait(&c->ring, 1);

		if (r < 0 && r != -EINTR)
			return;
		io_uring_for_each_cqe(&c->ring, head, cqe) {
			handle(c, cqe);
			seen++;
		}
		io_uring_cq_advance(&c->ring, seen);
		if (c->returned) {
			io_uring_buf_ring_advance(c->br, c->returned);
			c->returned = 0;
		}
		if (!c->done && start_send(c))
			return;
	}
}

static int ring_init(struct conn *c)
{
	struct io_uring_params p = { .flags = ring_flags };
	int r = io_uring_queue_init_params(RING_ENTRIES, &c->ring, &p);

	if (r == -EINVAL && ring_flags) {	/* an older kernel: plain */
		memset(&p, 0, sizeof(p));
		r = io_uring_queue_init_params(RING_ENTRIES, &c->ring, &p);
	}
	if (r < 0) {
		fprintf(stderr, "floor_uring: io_uring_queue_init: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

static int bufs_init(struct conn *c)
{
	size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = { .ring_entries = BUF_COUNT, .bgid = BGID };
	int r;

	c->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->br == MAP_FAILED) {
		c->br = NULL;
		return -1;
	}
	c->bufs = malloc((size_t)BUF_COUNT * BUF_BYTES);
	if (!c->bufs)
		return -1;
	reg.ring_addr = (uintptr_t)c->br;
	r = io_uring_register_buf_ring(&c->ring, &reg, 0);
	if (r < 0) {
		fprintf(stderr, "floor_uring: IORING_REGISTER_PBUF_RING: %s\n",
			strerror(-r));
		return -1;
	}
	io_uring_buf_ring_init(c->br);
	for (unsigned i = 0; i < BUF_COUNT; i++)
		give_back(c, i);
	io_uring_buf_ring_advance(c->br, c->returned);
	c->returned = 0;
	return 0;
}

static void *serve(void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));
	int fd = (int)(intptr_t)arg;
	bool ring = false;

	if (!c || floor_handshake(fd))
		goto out;
	c->fd = fd;
	c->multishot = true;
	/* The ring belongs to this thread (-t defer: SINGLE_ISSUER and
	 * DEFER_TASKRUN want it made and entered by the same task). */
	if (ring_init(c))
		goto out;
	ring = true;
	if (bufs_init(c) || arm_recv(c))
		goto out;
	run(c);
out:
	if (ring)
		io_uring_queue_exit(&c->ring);	/* cancels what is in flight */
	if (c) {
		if (c->br)
			munmap(c->br, BUF_COUNT * sizeof(struct io_uring_buf));
		free(c->bufs);
	}
	free(c);
	close(fd);
	return NULL;
}

static int set_mode(const char *mode)
{
	if (!strcmp(mode, "defer"))
		ring_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	else if (!strcmp(mode, "coop"))
		ring_flags = IORING_SETUP_COOP_TASKRUN;
	else if (!strcmp(mode, "none"))
		ring_flags = 0;
	else
		return -1;
	return 0;
}

#define USAGE "usage: floor_uring [-s SIZE] [-t defer|coop|none] PORT\n"

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:t:h")) != -1) {
		switch (opt) {
		case 's':
			floor_export_size = strtoull(optarg, NULL, 0);
			break;
		case 't':
			if (set_mode(optarg)) {
				fprintf(stderr, "floor_uring: -t %s: not defer, coop or none\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			printf(USAGE
			       "The benchmark's floor on io_uring: an NBD server on\n"
			       "127.0.0.1:PORT that does nothing but move the bytes, with a\n"
			       "multishot receive into provided buffers and one send per\n"
			       "completion burst (tests/bench/floor_uring.c). -t: the ring's\n"
			       "task-work mode (default coop: COOP_TASKRUN).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, USAGE);
		return 2;
	}
	floor_listen_loop("floor_uring", (uint16_t)atoi(argv[optind]), serve);
}
