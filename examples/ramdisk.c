/* SPDX-License-Identifier: MIT */
/*
 * ramdisk: serve a buffer in this program's own memory over NBD, using
 * libcnbd's embeddable server. The backend is a struct of callbacks,
 * the same ops struct a .so backend registers.
 *
 *   ./ramdisk 127.0.0.1:10809 64M      then: nbdinfo nbd://127.0.0.1/ram
 */
#include <cnbd/server.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ramdisk {
	unsigned char *bytes;
	uint64_t size;
};

static int64_t ram_size(void *conn)
{
	return ((struct ramdisk *)conn)->size;
}

static int ram_pread(void *conn, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)flags;
	memcpy(buf, ((struct ramdisk *)conn)->bytes + offset, count);
	return 0;
}

static int ram_pwrite(void *conn, const void *buf, uint32_t count, uint64_t offset,
		      uint32_t flags)
{
	(void)flags;
	memcpy(((struct ramdisk *)conn)->bytes + offset, buf, count);
	return 0;
}

static int ram_flush(void *conn, uint32_t flags)
{
	(void)conn;
	(void)flags;
	return 0;	/* memory is as durable as this program */
}

/* The server checks every range against get_size() before calling us. */
static const struct cnbd_backend ram_ops = {
	CNBD_BACKEND_HEADER,
	.name = "ramdisk",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN | CNBD_BACKEND_NATIVE_FUA,
	.get_size = ram_size,
	.pread = ram_pread,
	.pwrite = ram_pwrite,
	.flush = ram_flush,
};

static struct cnbd_server *server;

static void stop(int sig)
{
	(void)sig;
	cnbd_server_stop(server);	/* async-signal-safe */
}

int main(int argc, char **argv)
{
	struct ramdisk disk = { .size = 64 << 20 };
	struct cnbd_export_options opts = { .description = "a buffer in ramdisk's memory" };
	const char *address = argc > 1 ? argv[1] : "127.0.0.1:10809";

	if (argc > 2)
		disk.size = strtoull(argv[2], NULL, 0) << (strchr(argv[2], 'M') ? 20 : 0);
	disk.bytes = calloc(1, disk.size);
	server = cnbd_server_new();
	if (!disk.bytes || !server)
		return 1;
	if (cnbd_server_listen(server, address) < 0 ||
	    cnbd_server_add_export(server, "ram", &ram_ops, &disk, &opts) < 0) {
		fprintf(stderr, "ramdisk: cannot serve on %s: %s\n", address, strerror(errno));
		return 1;
	}
	signal(SIGINT, stop);
	signal(SIGTERM, stop);
	fprintf(stderr, "ramdisk: serving %llu bytes as 'ram' on %s\n",
		(unsigned long long)disk.size, address);
	cnbd_server_run(server);
	cnbd_server_free(server);
	free(disk.bytes);
	return 0;
}
