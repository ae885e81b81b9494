/* SPDX-License-Identifier: MIT */
/*
 * copy: copy an NBD export to a file with several reads in flight, using
 * libcnbd's client (<cnbd/client.h>).
 *
 *   ./copy [-n REQUESTS] nbd://server/disk disk.img
 *
 * Each slot holds one read; cnbd_client_poll() waits for replies, which
 * come back in any order, and each finished slot is written to its place
 * in the file and sent again for the next piece.
 */
#include <cnbd/client.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK	(1024 * 1024)	/* unless the server takes less */

struct slot {
	int64_t cookie;		/* 0: free */
	uint64_t offset;
	size_t len;
	unsigned char *buf;
};

static int fail(struct cnbd_client *h, const char *what)
{
	fprintf(stderr, "copy: %s: %s\n", what, cnbd_client_get_error(h));
	cnbd_client_close(h);
	return 1;
}

int main(int argc, char **argv)
{
	int n = 8, fd, busy = 0;
	const char *uri, *path;
	struct cnbd_client *h;
	struct slot *slots;
	uint64_t size, next = 0;
	size_t chunk = CHUNK;
	int64_t max;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		n = atoi(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc != 3 || n < 1) {
		bool help = argc == 2 && !strcmp(argv[1], "--help");

		fprintf(help ? stdout : stderr, "usage: copy [-n REQUESTS] URI FILE\n"
			"Copies the NBD export URI to FILE, REQUESTS reads at a time (8).\n");
		return help ? 0 : 2;
	}
	uri = argv[1];
	path = argv[2];
	h = cnbd_client_create();
	slots = calloc(n, sizeof(*slots));
	if (!h || !slots)
		return 1;
	if (cnbd_client_connect_uri(h, uri) < 0)
		return fail(h, uri);
	size = cnbd_client_get_size(h);
	max = cnbd_client_get_block_size(h, CNBD_SIZE_MAXIMUM);
	if (max > 0 && (uint64_t)max < chunk)
		chunk = max;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, size) < 0) {
		perror(path);
		return 1;
	}
	while (next < size || busy) {
		for (int i = 0; i < n && next < size; i++) {
			struct slot *s = &slots[i];

			if (s->cookie)
				continue;
			s->offset = next;
			s->len = size - next < chunk ? size - next : chunk;
			if (!s->buf && !(s->buf = malloc(chunk)))
				return 1;
			s->cookie = cnbd_client_aio_pread(h, s->buf, s->len, s->offset, 0);
			if (s->cookie < 0)
				return fail(h, "read");
			next += s->len;
			busy++;
		}
		if (cnbd_client_poll(h, -1) < 0)
			return fail(h, "waiting for replies");
		for (int i = 0; i < n; i++) {
			struct slot *s = &slots[i];
			int done = s->cookie ? cnbd_client_aio_command_completed(h, s->cookie) : 0;

			if (done < 0)
				return fail(h, "read");
			if (done == 0)
				continue;
			if (pwrite(fd, s->buf, s->len, s->offset) != (ssize_t)s->len) {
				perror(path);
				return 1;
			}
			s->cookie = 0;
			busy--;
		}
	}
	cnbd_client_close(h);
	if (close(fd) < 0) {
		perror(path);
		return 1;
	}
	for (int i = 0; i < n; i++)
		free(slots[i].buf);
	free(slots);
	return 0;
}
