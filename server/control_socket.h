/* SPDX-License-Identifier: MIT */
/*
 * The master's control socket: a Unix stream socket, mode 0600, for
 * root (and the server's own user) only, checked with SO_PEERCRED. The
 * protocol is lines: a request "VERB ARG...", then reply lines, the last
 * of which is "ok" or "error: REASON" (docs/server.md lists the verbs).
 *
 * The master serves it without ever blocking: every socket is
 * non-blocking, a request line is bounded, a connection has one request
 * in progress at a time (the next line waits until the reply is sent),
 * and a connection that stalls is closed after CONTROL_TIMEOUT_MS.
 */
#ifndef CNBD_SERVER_CONTROL_SOCKET_H
#define CNBD_SERVER_CONTROL_SOCKET_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_LINE_MAX	16384	/* with its '\n' */
#define CONTROL_MAX_CLIENTS	16
#define CONTROL_TIMEOUT_MS	10000
/* After EMFILE and friends, stop accepting this long: a connection left
 * waiting in the backlog would otherwise wake poll() at once, forever. */
#define CONTROL_BACKOFF_MS	200
/* Entries control_pollfds() fills: the listener, then one per slot. */
#define CONTROL_NPOLL		(1 + CONTROL_MAX_CLIENTS)

/* The reply to one request, built by a verb. */
struct control_reply {
	char *buf;
	size_t len, cap;
	bool oom;
};

/* Appends one line (a '\n' is added). */
void control_reply_line(struct control_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct control_client {
	int fd;				/* -1: a free slot */
	uid_t uid;
	pid_t pid;
	char in[CONTROL_LINE_MAX];	/* received, not yet handled */
	size_t inlen;
	struct control_reply out;	/* being sent */
	size_t sent;
	bool closing;			/* close once out is sent */
	int64_t deadline;		/* ms, CLOCK_MONOTONIC */
};

struct control {
	int fd;				/* listening; -1: no control socket */
	char *path;
	int64_t paused_until;		/* out of descriptors: not accepting */
	struct control_client clients[CONTROL_MAX_CLIENTS];
};

static inline bool control_writing(const struct control_client *cl)
{
	return cl->out.len > cl->sent;
}

/* Closes a connection and frees its slot. */
void control_drop(struct control_client *cl);

/* Handles one request line of a permitted peer. */
typedef void (*control_dispatch_fn)(void *ctx, char *line, struct control_reply *r);

/* No control socket and no connections. Needed before any other call,
 * also when the socket is never opened: a zeroed slot is descriptor 0,
 * which control_pollfds() would hand to poll() and control_timeout()
 * would report as due at once (the master spun with control = off). */
void control_init(struct control *c);
/* Binds path (making its directory). A socket file that nobody answers
 * on is replaced; one a live server answers on is an error. 0, or -1
 * with the reason in err. */
int control_open(struct control *c, const char *path, char *err, size_t errlen);
/* Closes every socket; with unlink_path removes the socket file. */
void control_close(struct control *c, bool unlink_path);

/* Fills CONTROL_NPOLL entries (fd -1 where there is nothing to wait for). */
void control_pollfds(const struct control *c, struct pollfd *pfds, int64_t now);
/* Milliseconds until the next deadline, or -1 for none. */
int control_timeout(const struct control *c, int64_t now);
/* Acts on what poll() said of the entries control_pollfds() filled,
 * and on deadlines that passed. */
void control_service(struct control *c, const struct pollfd *pfds, int64_t now,
		     control_dispatch_fn dispatch, void *ctx);

#endif
