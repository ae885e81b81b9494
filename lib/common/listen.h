/* SPDX-License-Identifier: MIT */
/* Listening addresses: "127.0.0.1:10809", "[::1]:10809", "*:10809",
 * "localhost:10809", "unix:/run/nbd.sock". */
#ifndef CNBD_SERVER_LISTEN_H
#define CNBD_SERVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#define LISTEN_HOST_MAX	256

struct listen_addr {
	bool is_unix;
	char host[LISTEN_HOST_MAX];	/* "" for every address */
	char port[6];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct listener {
	int fd;
	bool is_unix;
	char name[LISTEN_HOST_MAX + 16];	/* for log lines */
	char *unix_path;		/* unlinked at exit; NULL: TCP, or not ours */
};

/* Syntax only, no name lookup: 0, or -1 with the reason in err. */
int listen_parse(const char *spec, struct listen_addr *addr,
		 char *err, size_t errlen);

/* Binds and listens on every address spec resolves to, appending to
 * *ls (grown with realloc). 0, or -1 with the reason in err. */
int listen_open(const char *spec, unsigned unix_mode, struct listener **ls,
		size_t *nls, char *err, size_t errlen);
/* Appends a listening socket opened elsewhere (one systemd passed):
 * unix_path NULL leaves the socket file to whoever made it. 0, or -1
 * when out of memory (fd is then not taken). */
int listen_add(struct listener **ls, size_t *nls, int fd, bool is_unix,
	       const char *name, const char *unix_path);
/* Closes the sockets; with unlink_paths also removes Unix socket files
 * (only the master does that, at exit). */
void listen_close_all(struct listener *ls, size_t nls, bool unlink_paths);
/* Closes (without unlinking) and frees the array. */
void listen_free(struct listener *ls, size_t nls);

#endif
