/* SPDX-License-Identifier: MIT */
/*
 * Handing an rbd export to a worker: its settings, the Ceph
 * configuration text and the key, as the master read them. The worker
 * connects to the cluster itself (rbd_connect.c); no cluster connection
 * ever crosses a process.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rbd.h"

/* A string as its length (UINT32_MAX for NULL) and its bytes. */
static int pack_string(struct cnbd_pack *pack, const char *s, size_t len)
{
	uint32_t n = s ? (uint32_t)len : UINT32_MAX;

	if (cnbd_pack_bytes(pack, &n, sizeof(n)) < 0)
		return -1;
	return s ? cnbd_pack_bytes(pack, s, len) : 0;
}

static int unpack_string(struct cnbd_pack *pack, char **s, size_t *len)
{
	uint32_t n;

	*s = NULL;
	if (cnbd_unpack_bytes(pack, &n, sizeof(n)) < 0)
		return -1;
	if (n == UINT32_MAX)
		return 0;
	if (n > CNBD_PACK_MAX_BYTES || !(*s = calloc(1, (size_t)n + 1)))
		return -1;
	if (len)
		*len = n;
	return cnbd_unpack_bytes(pack, *s, n);
}

#define STR(s)	(s), (s) ? strlen(s) : 0

int rbd_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct rbd_export *e = handle;
	uint32_t t[2] = { e->timeout, e->osd_timeout };

	(void)readonly;
	if (cnbd_pack_bytes(pack, t, sizeof(t)) < 0 ||
	    pack_string(pack, STR(e->pool)) < 0 || pack_string(pack, STR(e->image)) < 0 ||
	    pack_string(pack, STR(e->nspace)) < 0 || pack_string(pack, STR(e->snap)) < 0 ||
	    pack_string(pack, STR(e->id)) < 0 || pack_string(pack, STR(e->conf_path)) < 0 ||
	    pack_string(pack, e->conf_text, e->conf_len) < 0 ||
	    pack_string(pack, STR(e->keyring_path)) < 0 || pack_string(pack, STR(e->key)) < 0) {
		cnbd_error("rbd: the export's settings do not fit what a worker can be handed (%d bytes)",
			   CNBD_PACK_MAX_BYTES);
		return -1;
	}
	return 0;
}

void *rbd_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct rbd_export *e = calloc(1, sizeof(*e));
	uint32_t t[2];

	(void)readonly;
	if (!e)
		return NULL;
	if (cnbd_unpack_bytes(pack, t, sizeof(t)) < 0 ||
	    unpack_string(pack, &e->pool, NULL) < 0 || unpack_string(pack, &e->image, NULL) < 0 ||
	    unpack_string(pack, &e->nspace, NULL) < 0 || unpack_string(pack, &e->snap, NULL) < 0 ||
	    unpack_string(pack, &e->id, NULL) < 0 || unpack_string(pack, &e->conf_path, NULL) < 0 ||
	    unpack_string(pack, &e->conf_text, &e->conf_len) < 0 ||
	    unpack_string(pack, &e->keyring_path, NULL) < 0 ||
	    unpack_string(pack, &e->key, NULL) < 0 || !e->pool || !e->image || !e->id) {
		rbd_export_free(e);
		errno = EINVAL;
		return NULL;
	}
	e->timeout = t[0];
	e->osd_timeout = t[1];
	return e;
}
