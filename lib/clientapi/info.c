/* SPDX-License-Identifier: MIT */
/* What the server said of the export, once connected. */
#include <errno.h>
#include <string.h>

#include "clientapi/api.h"

static const struct client_export *export_of(struct cnbd_client *h)
{
	if (h->state == API_CREATED) {
		api_fail(h, ENOTCONN, "not connected to an export");
		return NULL;
	}
	return &h->c.export;
}

int64_t cnbd_client_get_size(struct cnbd_client *h)
{
	const struct client_export *ex = export_of(h);

	return ex ? (int64_t)ex->size : -1;
}

const char *cnbd_client_get_export_name(struct cnbd_client *h)
{
	const struct client_export *ex = export_of(h);

	return ex ? ex->name : NULL;
}

const char *cnbd_client_get_export_description(struct cnbd_client *h)
{
	const struct client_export *ex = export_of(h);

	return ex ? ex->description : NULL;
}

int cnbd_client_get_flags(struct cnbd_client *h)
{
	const struct client_export *ex = export_of(h);

	return ex ? ex->flags : -1;
}

static int has_flag(struct cnbd_client *h, uint16_t flag)
{
	int flags = cnbd_client_get_flags(h);

	return flags < 0 ? -1 : !!(flags & flag);
}

int cnbd_client_is_read_only(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_READ_ONLY);
}

int cnbd_client_is_rotational(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_ROTATIONAL);
}

int cnbd_client_can_flush(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_SEND_FLUSH);
}

int cnbd_client_can_fua(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_SEND_FUA);
}

int cnbd_client_can_trim(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_SEND_TRIM);
}

int cnbd_client_can_zero(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_SEND_WRITE_ZEROES);
}

int cnbd_client_can_fast_zero(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_SEND_FAST_ZERO);
}

int cnbd_client_can_cache(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_SEND_CACHE);
}

int cnbd_client_can_multi_conn(struct cnbd_client *h)
{
	return has_flag(h, NBD_FLAG_CAN_MULTI_CONN);
}

int cnbd_client_can_meta_context(struct cnbd_client *h, const char *name)
{
	if (!export_of(h))
		return -1;
	return h->c.have_meta && !strcmp(name, "base:allocation");
}

int cnbd_client_get_structured_replies_negotiated(struct cnbd_client *h)
{
	if (!export_of(h))
		return -1;
	return h->c.structured;
}

int64_t cnbd_client_get_block_size(struct cnbd_client *h, enum cnbd_client_size which)
{
	const struct client_export *ex = export_of(h);

	if (!ex)
		return -1;
	if (!ex->have_block_size)
		return 0;
	switch (which) {
	case CNBD_SIZE_MINIMUM:
		return ex->min_block;
	case CNBD_SIZE_PREFERRED:
		return ex->pref_block;
	case CNBD_SIZE_MAXIMUM:
		return ex->max_payload;
	}
	return api_fail(h, EINVAL, "no block size %d", (int)which);
}
