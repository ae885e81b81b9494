/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_socket.h"
#include "log.h"

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

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A socket file left by a server that died is replaced; one that
 * answers belongs to a running server, and anything else is not ours. */
static int claim_path(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket %s: exists and is not a socket",
			 sun->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "control socket %s: another server answers on it",
			 sun->sun_path);
		return -1;
	}
	return unlink(sun->sun_path);
}

static int bind_listen(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old;
	int rc;

	if (fd < 0)
		return -1;
	/* Root only from the moment it exists, not after a chmod. */
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	if (rc == 0 && chmod(sun->sun_path, 0600) == 0 && listen(fd, 16) == 0)
		return fd;
	rc = errno;
	close(fd);
	errno = rc;
	return -1;
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
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	control_init(c);
	err[0] = '\0';
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (make_parent_dir(path) < 0 || claim_path(&sun, err, errlen) < 0 ||
	    (c->fd = bind_listen(&sun)) < 0) {
		if (!err[0])
			snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
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
