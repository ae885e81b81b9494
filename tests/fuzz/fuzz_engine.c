/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnbd/protocol.h"
#include "cnbd/serve.h"
#include "fuzz_disk.h"
#include "fuzz_engine.h"
#include "fuzz_peer.h"

/* a, b and locked have their backends; "described" and "unknown" are
 * what an nbd-serverd worker sees before GO (a description only, the
 * second one with flags it could not learn), served through attach. */
#define NEXPORTS 5

static struct fuzz_disk disk_a, disk_b;
static struct cnbd_export exports[NEXPORTS];

static const struct cnbd_export *find_export(void *ctx, const char *name)
{
	(void)ctx;
	if (!*name)
		return &exports[0];
	for (size_t i = 0; i < NEXPORTS; i++)
		if (!strcmp(exports[i].name, name))
			return &exports[i];
	return NULL;
}

static const struct cnbd_export *export_at(void *ctx, size_t index)
{
	(void)ctx;
	return index < NEXPORTS ? &exports[index] : NULL;
}

static int acquire(void *ctx, const struct cnbd_export *exp, char *why,
		   size_t whylen)
{
	(void)ctx;
	if (exp != &exports[2])
		return 0;
	snprintf(why, whylen, "export '%s' is in use", exp->name);
	return -1;
}

/* GO on a description gets the export with its backend, as nbd-serverd's
 * worker gets it from the master. */
static const struct cnbd_export *attach(void *ctx, const struct cnbd_export *exp,
					char *why, size_t whylen)
{
	(void)ctx;
	if (exp == &exports[3])
		return &exports[0];
	if (exp == &exports[4]) {
		snprintf(why, whylen, "export '%s' cannot be opened", exp->name);
		return NULL;
	}
	return exp;
}

/* STARTTLS is handed off, as nbd-serverd's plaintext workers do. */
static void hand_off_tls(void *ctx, int fd, bool no_zeroes)
{
	(void)ctx;
	(void)fd;
	(void)no_zeroes;
}

static void release(void *ctx, const struct cnbd_export *exp)
{
	(void)ctx;
	/* Only granted leases come back. */
	if (exp == &exports[2])
		abort();
}

static const struct cnbd_serve_hooks hooks = {
	.find_export = find_export,
	.export_at = export_at,
	.acquire = acquire,
	.release = release,
	.attach = attach,
	.hand_off_tls = hand_off_tls,
};

static const struct cnbd_serve_options options = {
	.handshake_timeout = 30,
	.threads = 2,
	.peer = "fuzz",
	.tls_mode = CNBD_TLS_ON,
};

static void setup_once(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (fuzz_disk_init(&disk_a, 1 << 20) < 0 ||
	    fuzz_disk_init(&disk_b, 256 << 10) < 0)
		abort();
	exports[0] = (struct cnbd_export){
		.name = "a", .description = "fuzz disk a",
		.backend = &fuzz_disk_inline, .handle = &disk_a,
	};
	exports[1] = (struct cnbd_export){
		.name = "b", .min_block = 512, .pref_block = 4096,
		.max_block = 64 << 10,
		.backend = &fuzz_disk_pool, .handle = &disk_b,
	};
	exports[2] = (struct cnbd_export){
		.name = "locked", .readonly = true, .max_connections = 1,
		.backend = &fuzz_disk_inline, .handle = &disk_a,
	};
	exports[3] = (struct cnbd_export){
		.name = "described", .description = "a description only",
		.size = 1 << 20,
		.flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
			 NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_CACHE,
	};
	exports[4] = (struct cnbd_export){ .name = "unknown" };
}

void fuzz_engine_serve(const uint8_t *prefix, size_t prefix_len,
		       const uint8_t *data, size_t len)
{
	struct fuzz_peer peer;
	int fd;

	setup_once();
	fuzz_disk_reset(&disk_a);
	fuzz_disk_reset(&disk_b);
	fd = fuzz_peer_start(&peer, prefix, prefix_len, data, len);
	if (fd < 0)
		abort();
	/* Takes the fd over and closes it, which ends the peer. */
	cnbd_serve_connection(fd, &hooks, &options);
	fuzz_peer_join(&peer);
}
