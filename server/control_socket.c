/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control_socket.h"
#include "common/log.h"
#include "common/unix_listen.h"

void control_reply_line(struct control_reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || r->oom)
		return;
	if (r->len + n + 2 > r->cap) {
		size_t cap = (r->len + n + 2) * 2;
		char *buf = realloc(r->buf, cap);

		if (!buf) {
			r->oom = true;
			return;
		}
		r->buf = buf;
		r->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(r->buf + r->len, n + 1, fmt, ap);
	va_end(ap);
	r->len += n;
	r->buf[r->len++] = '\n';
}

void control_init(struct control *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
}

int control_open(struct control *c, const char *path, char *err, size_t errlen)
{
	control_init(c);
	c->fd = unix_listen(path, 0600, 16, true, err, errlen);
	if (c->fd < 0)
		return -1;
	c->path = strdup(path);
	return 0;
}

void control_drop(struct control_client *cl)
{
	close(cl->fd);
	free(cl->out.buf);
	memset(&cl->out, 0, sizeof(cl->out));
	cl->fd = -1;
	cl->inlen = 0;
	cl->sent = 0;
	cl->closing = false;
}

void control_close(struct control *c, bool unlink_path)
{
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			control_drop(&c->clients[i]);
	if (c->fd >= 0)
		close(c->fd);
	if (unlink_path && c->path)
		unlink(c->path);
	free(c->path);
	c->path = NULL;
	c->fd = -1;
}

void control_pollfds(const struct control *c, struct pollfd *pfds, int64_t now)
{
	pfds[0] = (struct pollfd){ .fd = now < c->paused_until ? -1 : c->fd,
				   .events = POLLIN };
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		const struct control_client *cl = &c->clients[i];

		pfds[1 + i] = (struct pollfd){ .fd = cl->fd,
			.events = control_writing(cl) ? POLLOUT : POLLIN };
	}
}

int control_timeout(const struct control *c, int64_t now)
{
	int64_t first = c->fd >= 0 && now < c->paused_until ? c->paused_until : -1;

	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		const struct control_client *cl = &c->clients[i];

		if (cl->fd >= 0 && (first < 0 || cl->deadline < first))
			first = cl->deadline;
	}
	if (first < 0)
		return -1;
	return first > now ? (int)(first - now) : 0;
}
