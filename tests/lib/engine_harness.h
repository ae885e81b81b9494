/* SPDX-License-Identifier: MIT */
/*
 * Drives libcnbd's engine (cnbd_serve_connection) from a unit test: the
 * engine runs in a thread on one end of a socketpair, the test speaks the
 * protocol on the other end with the small client below, and exports are
 * backed by an in-test memory disk whose calls are counted.
 * Used by tests/unit/test_handshake.c and test_transmission.c.
 */
#ifndef CNBD_TEST_ENGINE_HARNESS_H
#define CNBD_TEST_ENGINE_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnbd/backend.h"
#include "cnbd/serve.h"

/* ---- the in-test disk ---------------------------------------------- */

struct tdisk {
	pthread_mutex_t lock;
	uint8_t *data;
	uint64_t size;
	/* Calls seen, and the last call's arguments. */
	int preads, pwrites, flushes, trims, zeros, caches;
	uint32_t last_flags;
	uint64_t last_offset;
	uint32_t last_count;
	/* When nonzero, every data call fails with this errno. */
	int fail_errno;
	/* When set, zero() refuses CNBD_FAST_ZERO with ENOTSUP. */
	bool zero_not_fast;
	/* Concurrency probe: a pread at gate_offset waits (up to 5 s) until
	 * a pread at release_offset has run, or tdisk_release(). */
	bool gate;
	uint64_t gate_offset, release_offset;
	bool released;
	bool gate_timed_out;
	pthread_cond_t cond;
};

void tdisk_init(struct tdisk *d, uint64_t size);
void tdisk_free(struct tdisk *d);
/* Opens the gate from the test itself. */
void tdisk_release(struct tdisk *d);

/* Every callback, PARALLEL | MULTI_CONN. */
extern const struct cnbd_backend tdisk_full;
/* get_size, pread and pwrite only. */
extern const struct cnbd_backend tdisk_plain;
/* get_size and pread only. */
extern const struct cnbd_backend tdisk_readonly_ops;
/* Every callback, and NATIVE_FUA (no flush emulation wanted). */
extern const struct cnbd_backend tdisk_native_fua;

/* ---- exports and hooks -------------------------------------------- */

#define HARNESS_MAX_EXPORTS 8

struct harness {
	struct cnbd_export exports[HARNESS_MAX_EXPORTS];
	size_t nexports;
	const char *default_name;	/* for "": NULL means none */
	const char *refuse;		/* acquire refuses this export */
	int acquires, releases, finds;
	pthread_mutex_t lock;
};

void harness_init(struct harness *h);
/* Adds an export served by be on disk d; returns it for tweaking. */
struct cnbd_export *harness_add(struct harness *h, const char *name,
				const char *description,
				const struct cnbd_backend *be, struct tdisk *d);

/* ---- the engine in a thread ---------------------------------------- */

struct engine {
	int client_fd;			/* the test's end */
	pthread_t thread;
	int rc;				/* cnbd_serve_connection's result */
	bool started;
	bool joined;
	struct cnbd_serve_hooks hooks;
	struct cnbd_serve_options opts;
	int server_fd;
};

/* Starts the engine; returns the client's fd (also e->client_fd). */
int engine_start(struct engine *e, struct harness *h, int handshake_timeout);
/* Waits up to timeout_ms for the engine to return; fails the test if it
 * does not. Returns its result. */
int engine_wait(struct engine *e, int timeout_ms);
/* Closes the client end, waits for the engine (5 s). */
void engine_stop(struct engine *e);

/* ---- the client side ----------------------------------------------- */

/* Reads exactly n bytes (fails the test on EOF or after 10 s). */
void cli_read(int fd, void *buf, size_t n);
void cli_write(int fd, const void *buf, size_t n);
/* True when the engine closed its end within timeout_ms (data that
 * arrives meanwhile is dropped). */
bool cli_closed_within(int fd, int timeout_ms);

/* Reads the greeting; returns the handshake flags. */
uint16_t cli_greeting(int fd);
void cli_client_flags(int fd, uint32_t flags);
/* Greeting plus fixed newstyle (and NO_ZEROES when no_zeroes). */
void cli_handshake(int fd, bool no_zeroes);

void cli_option(int fd, uint32_t option, const void *data, uint32_t len);

struct optreply {
	uint32_t option;
	uint32_t type;
	uint32_t len;
	uint8_t data[8192];
};
void cli_reply(int fd, struct optreply *r);

/* INFO or GO for name with the given information requests. Fills in
 * what came back; returns the final reply type (ACK or an error). */
struct export_info {
	bool have_export, have_name, have_desc, have_block;
	uint64_t size;
	uint16_t flags;
	char name[256];
	char desc[256];
	uint32_t block[3];
	int ninfo;
};
uint32_t cli_info(int fd, uint32_t option, const char *name,
		  const uint16_t *req, uint16_t nreq, struct export_info *out);

/* GO on name after a handshake with NO_ZEROES; asserts success. */
void cli_go(int fd, const char *name, struct export_info *out);

void cli_request(int fd, uint16_t flags, uint16_t type, uint64_t cookie,
		 uint64_t offset, uint32_t count, const void *payload);
/* Reads a simple reply header; returns the error, sets *cookie. */
uint32_t cli_simple_reply(int fd, uint64_t *cookie);
/* One request, one simple reply (READ data into buf); returns error. */
uint32_t cli_cmd(int fd, uint16_t flags, uint16_t type, uint64_t offset,
		 uint32_t count, const void *payload, void *buf);

#endif
