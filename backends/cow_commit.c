/* SPDX-License-Identifier: MIT */
/*
 * The operator's commands on a persistent overlay, run by the master
 * while no connection holds the export (the server checks):
 *
 *   commit   every block the overlay holds is written into the base (the
 *            base's connection opened writable for this alone), the base
 *            is flushed, and only then is the overlay emptied. A crash in
 *            between leaves the overlay whole, and the next commit writes
 *            the same bytes again.
 *   reset    the overlay is emptied: the export reads as its base again.
 *
 * The map is read as it is: the master never takes the workers' locks,
 * and a state no block has (a worker scribbled it) is left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pread_full.h"
#include "cow.h"

struct tally {
	uint64_t data, zero;
};

static void count(const struct cow_export *x, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (uint64_t b = 0; b < x->g.nblocks; b++) {
		t->data += x->map[b] == COW_DATA;
		t->zero += x->map[b] == COW_ZERO;
	}
}

static int copy_block(struct cow_export *x, struct cnbd_next *base, uint64_t b, char *buf)
{
	uint64_t start = b * x->g.block_size;
	uint32_t len = (uint32_t)cow_block_len(&x->g, b);

	if (x->map[b] == COW_ZERO)
		return cnbd_next_zero(base, len, start, 0);
	if (x->map[b] != COW_DATA)
		return 0;
	if (pread_full(x->fd, buf, len, x->g.data_offset + start) != 0) {
		errno = errno ? errno : EIO;
		return -1;
	}
	return cnbd_next_pwrite(base, buf, len, start, 0);
}

static int write_into(struct cow_export *x, struct cnbd_next *base, char *msg, size_t len)
{
	char *buf = malloc(x->g.block_size);

	if (!buf)
		return -1;
	for (uint64_t b = 0; b < x->g.nblocks; b++) {
		if (copy_block(x, base, b, buf) < 0) {
			snprintf(msg, len, "cow: writing block %llu into the base failed: %s; the overlay is kept whole",
				 (unsigned long long)b, strerror(errno));
			free(buf);
			return -1;
		}
	}
	free(buf);
	if (cnbd_next_flush(base, 0) < 0) {
		snprintf(msg, len, "cow: flushing the base failed: %s; the overlay is kept whole",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int clear(struct cow_export *x, char *msg, size_t len)
{
	if (cow_clear(x) == 0)
		return 0;
	snprintf(msg, len, "cow: emptying the overlay %s failed: %s", x->overlay_path,
		 strerror(errno));
	return -1;
}

static int commit(struct cow_export *x, char *msg, size_t len)
{
	struct cnbd_next *base = cnbd_below_open(x->below, false);
	struct tally t;
	int rc = -1;

	if (!base) {
		snprintf(msg, len, "cow: cannot open the base: %s", strerror(errno));
		return -1;
	}
	if (cnbd_next_can_write(base) <= 0) {
		snprintf(msg, len, "cow: the base cannot be written (a read-only file or device): nothing was committed");
		errno = EROFS;
		goto out;
	}
	count(x, &t);
	if (write_into(x, base, msg, len) < 0 || clear(x, msg, len) < 0)
		goto out;
	snprintf(msg, len, "committed %llu blocks of data and %llu of zeros (blocks of %u bytes) into the base; the overlay is empty",
		 (unsigned long long)t.data, (unsigned long long)t.zero, x->g.block_size);
	rc = 0;
out:
	cnbd_below_close(base);
	return rc;
}

static int reset(struct cow_export *x, char *msg, size_t len)
{
	struct tally t;

	count(x, &t);
	if (clear(x, msg, len) < 0)
		return -1;
	snprintf(msg, len, "dropped %llu blocks of data and %llu of zeros; the export reads as its base",
		 (unsigned long long)t.data, (unsigned long long)t.zero);
	return 0;
}

int cow_command(void *handle, const char *command, char *msg, size_t msglen)
{
	struct cow_export *x = handle;
	bool known = !strcmp(command, "commit") || !strcmp(command, "reset");

	if (!known) {
		snprintf(msg, msglen, "cow: no command '%s' (cow has commit and reset)", command);
		errno = ENOTSUP;
		return -1;
	}
	if (!x->g.persistent) {
		snprintf(msg, msglen, "cow: this export's overlays are per connection (no overlay = FILE): there is nothing to %s",
			 command);
		errno = EINVAL;
		return -1;
	}
	return !strcmp(command, "commit") ? commit(x, msg, msglen) : reset(x, msg, msglen);
}
