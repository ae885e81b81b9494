/* SPDX-License-Identifier: MIT */
/*
 * One control connection, served without blocking: read until a whole
 * line is there, answer it, send the answer as the socket takes it, and
 * only then look at the next line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control_socket.h"
#include "common/log.h"

/* Root, and the user the server runs as (who could signal it anyway). */
static bool permitted(const struct control_client *cl)
{
	return cl->uid == 0 || cl->uid == geteuid();
}

static void set_peer(struct control_client *cl)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	cl->uid = (uid_t)-1;
	cl->pid = 0;
	if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		cl->uid = cred.uid;
		cl->pid = cred.pid;
	}
}

static void accept_clients(struct control *c, int64_t now)
{
	for (int tries = 0; tries < CONTROL_MAX_CLIENTS; tries++) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_client *cl = NULL;
		static const char busy[] = "error: too many control connections; try again\n";

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				c->paused_until = now + CONTROL_BACKOFF_MS;
			return;
		}
		for (size_t i = 0; i < CONTROL_MAX_CLIENTS && !cl; i++)
			if (c->clients[i].fd < 0)
				cl = &c->clients[i];
		if (!cl) {
			if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				log_debug("control: busy reply not delivered");
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->deadline = now + CONTROL_TIMEOUT_MS;
		set_peer(cl);
	}
}

static void flush(struct control_client *cl)
{
	while (control_writing(cl)) {
		ssize_t n = send(cl->fd, cl->out.buf + cl->sent, cl->out.len - cl->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {	/* the peer went away: nothing more to say */
			cl->closing = true;
			cl->sent = cl->out.len;
			return;
		}
		cl->sent += n;
	}
}

/* Answers the line in[0..len) (its '\n' replaced by NUL). */
static void answer(struct control_client *cl, char *line,
		   control_dispatch_fn dispatch, void *ctx)
{
	struct control_reply *r = &cl->out;

	r->len = 0;
	cl->sent = 0;
	if (!permitted(cl)) {
		log_warn("control: refused a request from pid %d uid %d: only root may use the control socket",
			 (int)cl->pid, (int)cl->uid);
		control_reply_line(r, "error: permission denied: only root may use nbd-serverd's control socket");
		cl->closing = true;
	} else {
		dispatch(ctx, line, r);
	}
	if (r->oom) {
		r->oom = false;
		r->len = 0;
		control_reply_line(r, "error: out of memory");
	}
}

/* Handles whole lines while no reply is being sent. */
static void next_requests(struct control_client *cl, int64_t now,
			  control_dispatch_fn dispatch, void *ctx)
{
	while (!control_writing(cl) && !cl->closing) {
		char *nl = memchr(cl->in, '\n', cl->inlen);
		size_t used;

		if (!nl) {
			if (cl->inlen < sizeof(cl->in))
				return;
			cl->out.len = cl->sent = 0;
			control_reply_line(&cl->out, "error: request longer than %d bytes",
					   CONTROL_LINE_MAX - 1);
			cl->closing = true;
			break;
		}
		*nl = '\0';
		if (nl > cl->in && nl[-1] == '\r')
			nl[-1] = '\0';
		used = nl - cl->in + 1;
		answer(cl, cl->in, dispatch, ctx);
		memmove(cl->in, cl->in + used, cl->inlen - used);
		cl->inlen -= used;
		cl->deadline = now + CONTROL_TIMEOUT_MS;
		flush(cl);
	}
	flush(cl);
}

/* Reads what is there; false when the peer is done (EOF or error). */
static bool receive(struct control_client *cl)
{
	for (;;) {
		ssize_t n;

		if (cl->inlen == sizeof(cl->in))
			return true;
		n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		cl->inlen += n;
	}
}

static void service_client(struct control_client *cl, short revents, int64_t now,
			   control_dispatch_fn dispatch, void *ctx)
{
	bool open = true;

	if (revents & POLLOUT)
		flush(cl);
	else if (revents & (POLLIN | POLLHUP | POLLERR))
		open = receive(cl);
	next_requests(cl, now, dispatch, ctx);
	/* A peer that hung up gets no more answers; one that is done
	 * sending but still reading gets the one in progress. */
	if ((!open && !control_writing(cl)) || (cl->closing && !control_writing(cl)))
		goto drop;
	if (now >= cl->deadline) {
		log_debug("control: pid %d: no request or no reading for %d ms: closing",
			  (int)cl->pid, CONTROL_TIMEOUT_MS);
		goto drop;
	}
	return;
drop:
	control_drop(cl);
}

void control_service(struct control *c, const struct pollfd *pfds, int64_t now,
		     control_dispatch_fn dispatch, void *ctx)
{
	if (c->fd < 0)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *cl = &c->clients[i];

		/* Only slots that were polled: one accepted below has no
		 * events yet. */
		if (cl->fd >= 0 && pfds[1 + i].fd == cl->fd)
			service_client(cl, pfds[1 + i].revents, now, dispatch, ctx);
	}
	if (pfds[0].revents & POLLIN)
		accept_clients(c, now);
}
