/* SPDX-License-Identifier: MIT */
/*
 * An NBD server inside your own program: listen, add and remove exports
 * while it runs, serve each connection on a thread of its own. The
 * backend is a struct cnbd_backend of callbacks in your process, the
 * same ops struct a .so backend registers (see cnbd/backend.h): its
 * open_export is not called; you pass the handle its calls receive.
 *
 *   struct cnbd_server *srv = cnbd_server_new();
 *   cnbd_server_listen(srv, "127.0.0.1:10809");
 *   cnbd_server_add_export(srv, "disk", &my_ops, my_data, NULL);
 *   cnbd_server_run(srv);		// until cnbd_server_stop()
 *   cnbd_server_free(srv);
 *
 * Threads, not processes: an in-process backend shares your memory, so a
 * fork per connection would serve a copy of it. nbd-serverd forks.
 */
#ifndef CNBD_SERVER_H
#define CNBD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cnbd/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cnbd_server;

struct cnbd_export_options {
	const char *description;	/* NULL, or at most 4096 bytes */
	bool readonly;
	uint32_t min_block_size;	/* 0: defaults (1, 4096, 32M) */
	uint32_t preferred_block_size;
	uint32_t max_block_size;
	unsigned max_connections;	/* 0: unlimited; 1: single use */
};

struct cnbd_export_status {
	const char *name;
	const char *description;
	unsigned connections;		/* holding a lease (GO/EXPORT_NAME) */
};

struct cnbd_server *cnbd_server_new(void);
/* "127.0.0.1:10809", "[::1]:10809", "*:10809" or "unix:/path". Call
 * before cnbd_server_run(); may be called more than once. 0 or -1. */
int cnbd_server_listen(struct cnbd_server *srv, const char *address);
/* Adds an export, or replaces one of the same name: connections that
 * hold the old one keep it until they end. 0, or -1 with errno: EINVAL
 * for a name or description longer than the protocol's 4096 bytes
 * (NBD_MAX_STRING), which is also logged. */
int cnbd_server_add_export(struct cnbd_server *srv, const char *name,
			   const struct cnbd_backend *ops, void *handle,
			   const struct cnbd_export_options *opts);
/* New clients no longer find it; existing connections go on. */
int cnbd_server_remove_export(struct cnbd_server *srv, const char *name);
/* Calls fn once per export, under the server's lock: copy what you keep. */
void cnbd_server_list_exports(struct cnbd_server *srv,
			      void (*fn)(void *arg, const struct cnbd_export_status *st),
			      void *arg);
/* Serves one connection you accepted yourself, on the calling thread. */
int cnbd_server_handle(struct cnbd_server *srv, int fd);
/* Accepts until cnbd_server_stop(); 0 or -1. */
int cnbd_server_run(struct cnbd_server *srv);
/* Safe from a signal handler and from any thread. */
void cnbd_server_stop(struct cnbd_server *srv);
/* Ends open connections, waits for their threads, frees everything. */
void cnbd_server_free(struct cnbd_server *srv);

#ifdef __cplusplus
}
#endif

#endif
