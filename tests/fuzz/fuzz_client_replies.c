/* SPDX-License-Identifier: MIT */
/*
 * Target client_replies: libcnbd's client side (lib/client*.c) against a
 * fake server whose every byte is the fuzzer's: the greeting, option
 * replies (INFO, SERVER, ACK, errors) and transmission replies.
 *
 * The first four bytes are the script, not server bytes:
 *   [0] bits 0-1: GO, INFO, LIST or ABORT; bit 2: ask for export "disk"
 *       instead of the default ""
 *   [1] after a successful GO, the calls made, in this order: bit 0
 *       pread, 1 pwrite, 2 pwrite with FUA, 3 flush, 4 trim, 5 pread of
 *       the last bytes of the export
 *   [2..3] the length of those calls (big-endian, up to 64 KiB)
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clientlib/client.h"
#include "fuzz_peer.h"
#include "fuzz_target.h"
#include "common/wire.h"

#define SCRIPT_LEN 4

static int count_exports(void *opaque, const char *name, const char *desc)
{
	int *n = opaque;

	/* The strings must be NUL-terminated and readable. */
	if (strlen(name) > NBD_MAX_STRING || strlen(desc) > NBD_MAX_STRING)
		abort();
	return ++*n >= 1000 ? 1 : 0;
}

static void transmission(struct nbd_client *c, uint8_t calls, uint32_t len)
{
	static uint8_t buf[1 << 16];
	uint64_t size = c->export.size;

	if (calls & 1)
		client_pread(c, buf, len, 0);
	if (calls & 2)
		client_pwrite(c, buf, len, 0, false);
	if (calls & 4)
		client_pwrite(c, buf, len, 0, true);
	if (calls & 8)
		client_flush(c);
	if (calls & 16)
		client_trim(c, len, 0);
	if ((calls & 32) && size >= len)
		client_pread(c, buf, len, size - len);
}

void fuzz_client_replies(const uint8_t *data, size_t len)
{
	struct fuzz_peer peer;
	struct client_export ex;
	struct nbd_client c;
	const char *name;
	uint32_t iolen;
	int fd, n = 0;

	if (len < SCRIPT_LEN)
		return;
	name = (data[0] & 4) ? "disk" : "";
	iolen = get_be16(data + 2);
	fd = fuzz_peer_start(&peer, NULL, 0, data + SCRIPT_LEN, len - SCRIPT_LEN);
	if (fd < 0)
		abort();
	client_init(&c, fd);
	/* The fake server always ends (end of stream); the bound only turns
	 * a client that waits for nothing into a timeout, not a hang. */
	client_set_timeout(&c, 5);
	switch (data[0] & 3) {
	case 0:
		if (client_go(&c, name) == 0)
			transmission(&c, data[1], iolen);
		break;
	case 1:
		client_info(&c, name, &ex);
		break;
	case 2:
		client_list(&c, count_exports, &n);
		break;
	case 3:
		client_abort(&c);
		break;
	}
	/* Every failure leaves a sentence: check it is a terminated string. */
	if (strlen(c.error) >= sizeof(c.error))
		abort();
	client_close(&c);
	fuzz_peer_join(&peer);
}

FUZZ_TARGET(fuzz_client_replies)
