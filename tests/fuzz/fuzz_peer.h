/* SPDX-License-Identifier: MIT */
/*
 * The other end of a socketpair for a fuzz target: a thread that writes
 * the fuzzer's bytes (a fixed prefix, then the input), shuts down its
 * sending side so the code under test sees end of stream, and meanwhile
 * reads and drops whatever the code under test sends until it closes.
 *
 * Why not write everything and close: the code under test writes too (a
 * greeting, replies, requests). With the peer closed, its first write
 * fails with EPIPE and nothing after it is ever reached; with the peer
 * open but not reading, a large reply fills the socket buffer and the
 * run hangs.
 */
#ifndef CNBD_FUZZ_PEER_H
#define CNBD_FUZZ_PEER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct fuzz_peer {
	pthread_t thread;
	int fd;
	const uint8_t *prefix;
	size_t prefix_len;
	const uint8_t *data;
	size_t len;
};

/* Makes a socketpair; the peer thread owns one end, the caller gets the
 * other (the code under test takes it over). -1 on failure. */
int fuzz_peer_start(struct fuzz_peer *p, const uint8_t *prefix,
		    size_t prefix_len, const uint8_t *data, size_t len);
/* Waits for the peer to see the caller's end closed, and closes its own. */
void fuzz_peer_join(struct fuzz_peer *p);

#endif
