/* SPDX-License-Identifier: MIT */
/*
 * Driving the connection: the descriptor and direction for a caller's own
 * event loop, the notify calls, cnbd_client_poll, and retiring completed
 * commands. A synchronous call is one command submitted and waited for
 * here.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "clientapi/api.h"
#include "common/conn_io.h"

int cnbd_client_aio_get_fd(struct cnbd_client *h)
{
	if (api_need_ready(h) < 0)
		return -1;
	return h->c.fd;
}

unsigned cnbd_client_aio_get_direction(struct cnbd_client *h)
{
	if (h->state != API_READY)
		return 0;
	return CNBD_AIO_DIRECTION_READ | (h->sendq_head ? CNBD_AIO_DIRECTION_WRITE : 0);
}

int cnbd_client_aio_notify_read(struct cnbd_client *h)
{
	if (api_need_ready(h) < 0)
		return -1;
	return api_recv_progress(h);
}

int cnbd_client_aio_notify_write(struct cnbd_client *h)
{
	if (api_need_ready(h) < 0)
		return -1;
	return api_send_progress(h);
}

/* One wait and what follows it: 1 progress, 0 timed out, -1 failed. */
static int poll_once(struct cnbd_client *h, int timeout_ms)
{
	struct pollfd pfd = { .fd = h->c.fd, .events = POLLIN };
	int rc = 1;

	if (h->sendq_head)
		pfd.events |= POLLOUT;
	/* Bytes GnuTLS already decrypted would not wake poll(). */
	if (h->c.tls && gnutls_record_check_pending(h->c.tls) > 0) {
		pfd.revents = POLLIN;
	} else {
		do {
			rc = poll(&pfd, 1, timeout_ms);
		} while (rc < 0 && errno == EINTR);
		if (rc < 0)
			return api_lost(h, errno, "poll: %m");
		if (rc == 0)
			return 0;
	}
	if ((pfd.revents & POLLOUT) && api_send_progress(h) < 0)
		return -1;
	if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && api_recv_progress(h) < 0)
		return -1;
	return 1;
}

int cnbd_client_poll(struct cnbd_client *h, int timeout_ms)
{
	if (api_need_ready(h) < 0)
		return -1;
	if (!h->n_in_flight)
		return api_fail(h, EINVAL, "nothing is in flight to wait for");
	return poll_once(h, timeout_ms);
}

static struct cmd *find(struct cmd *list, uint64_t cookie, struct cmd **prev)
{
	*prev = NULL;
	for (; list; *prev = list, list = list->next)
		if (list->cookie == cookie)
			return list;
	return NULL;
}

/* Takes cmd off the done list and frees it: 1 for success, or -1 with
 * its error. */
static int retire(struct cnbd_client *h, struct cmd *cmd, struct cmd *prev)
{
	int rc = 1;

	if (prev)
		prev->next = cmd->next;
	else
		h->done_head = cmd->next;
	if (h->done_tail == cmd)
		h->done_tail = prev;
	if (cmd->err)
		rc = api_fail(h, cmd->err, "%s", cmd->msg);
	api_cmd_free(cmd);
	return rc;
}

int cnbd_client_aio_command_completed(struct cnbd_client *h, uint64_t cookie)
{
	struct cmd *prev, *cmd = find(h->done_head, cookie, &prev);

	if (cmd)
		return retire(h, cmd, prev);
	if (find(h->in_flight, cookie, &prev))
		return 0;
	return api_fail(h, EINVAL, "no command with cookie %llu is in flight or completed",
			(unsigned long long)cookie);
}

int64_t cnbd_client_aio_peek_command_completed(struct cnbd_client *h)
{
	if (h->done_head)
		return (int64_t)h->done_head->cookie;
	if (h->n_in_flight)
		return 0;
	return api_fail(h, EINVAL, "no command is in flight");
}

int cnbd_client_aio_in_flight(struct cnbd_client *h)
{
	return (int)h->n_in_flight;
}

int api_wait(struct cnbd_client *h, int64_t cookie)
{
	struct timespec deadline;
	int rc;

	if (cookie < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += h->timeout;
	while ((rc = cnbd_client_aio_command_completed(h, cookie)) == 0) {
		rc = poll_once(h, h->timeout ? conn_ms_until(&deadline) : -1);
		if (rc == 0)
			api_lost(h, ETIMEDOUT, "no reply within %u s (the connection is closed)",
				 h->timeout);
	}
	return rc < 0 ? -1 : 0;
}
