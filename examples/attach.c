/* SPDX-License-Identifier: MIT */
/*
 * attach: bind an NBD export to /dev/nbdX with libcnbd's attach API,
 * write 1 MiB through the device and read it back (O_DIRECT: to the
 * server and back, not the page cache), then detach. Root, nbd loaded.
 *
 *   ./attach nbd://127.0.0.1/disk
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* O_DIRECT */
#endif
#include <cnbd/attach.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned char out[1 << 20] __attribute__((aligned(4096)));
static unsigned char in[1 << 20] __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
	struct cnbd_attach_options o;
	struct cnbd_attach_status st;
	struct cnbd_attach *a;
	char err[512], path[48];
	int fd, ok;

	if (argc != 2) {
		fprintf(stderr, "usage: %s URI\n", argv[0]);
		return 2;
	}
	cnbd_attach_options_init(&o);	/* a free device; netlink where there is one */
	a = cnbd_attach_uri(argv[1], &o, err, sizeof(err));
	if (!a) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	cnbd_attach_status(a, &st);
	snprintf(path, sizeof(path), "/dev/%s", st.device);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = i % 251;
	fd = open(path, O_RDWR | O_DIRECT);
	ok = fd >= 0 && pwrite(fd, out, sizeof(out), 0) == sizeof(out) &&
	     pread(fd, in, sizeof(in), 0) == sizeof(in) && !memcmp(in, out, sizeof(in));
	printf("%s (%s): %s\n", path, st.binding, ok ? "1 MiB written and read back" : "FAILED");
	if (fd >= 0)
		close(fd);
	return cnbd_attach_detach(a) == 0 && ok ? 0 : 1;
}
