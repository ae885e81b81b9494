/* SPDX-License-Identifier: MIT */
/*
 * The block size the kernel is given. The kernel takes 512 up to the page
 * size (4096 here), powers of two; the server's minimum is a hard floor
 * (smaller requests may fail) and its preferred size avoids
 * read-modify-write, so it wins whenever the kernel can take it.
 */
#include <stdio.h>

#include "clientlib/client.h"

#define KERNEL_MIN_BLOCK	512U
#define KERNEL_MAX_BLOCK	4096U

int client_kernel_block_size(const struct client_export *ex, uint32_t *blksize,
			     char *err, size_t errlen)
{
	uint32_t floor = ex->min_block > KERNEL_MIN_BLOCK ? ex->min_block : KERNEL_MIN_BLOCK;
	uint32_t want;

	if (floor > KERNEL_MAX_BLOCK) {
		snprintf(err, errlen,
			 "the server's minimum block size %u exceeds the largest the kernel takes (%u)",
			 ex->min_block, KERNEL_MAX_BLOCK);
		return -1;
	}
	/* Without BLOCK_SIZE information nothing is known about the
	 * server's alignment: 512 is what every server accepts. */
	want = ex->have_block_size ? ex->pref_block : KERNEL_MIN_BLOCK;
	if (want < floor)
		want = floor;
	if (want > KERNEL_MAX_BLOCK)
		want = KERNEL_MAX_BLOCK;
	if (ex->have_block_size && want > ex->max_payload) {
		snprintf(err, errlen,
			 "the server's maximum payload %u is below the block size %u the kernel needs",
			 ex->max_payload, want);
		return -1;
	}
	*blksize = want;
	return 0;
}
