/* SPDX-License-Identifier: MIT */
/* The synchronous calls: one command each, submitted and waited for. */
#include "clientapi/api.h"

int cnbd_client_pread(struct cnbd_client *h, void *buf, size_t count,
		      uint64_t offset, uint32_t flags)
{
	return api_wait(h, cnbd_client_aio_pread(h, buf, count, offset, flags));
}

int cnbd_client_pwrite(struct cnbd_client *h, const void *buf, size_t count,
		       uint64_t offset, uint32_t flags)
{
	return api_wait(h, cnbd_client_aio_pwrite(h, buf, count, offset, flags));
}

int cnbd_client_flush(struct cnbd_client *h, uint32_t flags)
{
	return api_wait(h, cnbd_client_aio_flush(h, flags));
}

int cnbd_client_trim(struct cnbd_client *h, uint64_t count, uint64_t offset,
		     uint32_t flags)
{
	return api_wait(h, cnbd_client_aio_trim(h, count, offset, flags));
}

int cnbd_client_zero(struct cnbd_client *h, uint64_t count, uint64_t offset,
		     uint32_t flags)
{
	return api_wait(h, cnbd_client_aio_zero(h, count, offset, flags));
}

int cnbd_client_cache(struct cnbd_client *h, uint64_t count, uint64_t offset,
		      uint32_t flags)
{
	return api_wait(h, cnbd_client_aio_cache(h, count, offset, flags));
}

int cnbd_client_block_status(struct cnbd_client *h, uint64_t count, uint64_t offset,
			     cnbd_client_extent_fn fn, void *opaque, uint32_t flags)
{
	return api_wait(h, cnbd_client_aio_block_status(h, count, offset, fn, opaque, flags));
}
