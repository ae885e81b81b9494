/* SPDX-License-Identifier: MIT */
/*
 * The client daemon's control protocol, from nbdctl's side. Text over a
 * Unix stream socket: one request line ("VERB ARG..."), then reply lines,
 * the last of which is "ok" or "error: REASON".
 */
#ifndef CNBD_CONTROL_CLIENT_H
#define CNBD_CONTROL_CLIENT_H

#include <stddef.h>

#define CONTROL_DEFAULT_SOCKET	"/run/cnbd/clientd.sock"
#define CONTROL_LINE_MAX	16384	/* a request line */
/* A reply line: list lines carry URIs of any length the grammar allows,
 * escaped; this only bounds what nbdctl accepts from a broken daemon. */
#define CONTROL_REPLY_MAX	(1024 * 1024)

/* Called for each reply line before the final one; nonzero stops. */
typedef int (*control_line_fn)(void *opaque, const char *line);

enum control_result {
	CONTROL_OK = 0,
	CONTROL_REFUSED = -1,	/* "error: ..."; the reason is in err */
	CONTROL_UNREACHABLE = -2, /* no daemon (connect failed) */
	CONTROL_BROKEN = -3,	/* the conversation failed midway */
};

/* Sends request (without newline) to the daemon peer ("nbd-clientd",
 * "nbd-serverd": for messages) and reads the reply, each step bounded by
 * timeout seconds. */
enum control_result control_call(const char *peer, const char *socket_path,
				 const char *request, int timeout, control_line_fn fn,
				 void *opaque, char *err, size_t errlen);

#endif
