/* SPDX-License-Identifier: MIT */
/*
 * The backend identifier a device is bound with (NBD_ATTR_BACKEND_IDENTIFIER,
 * shown in /sys/block/nbdX/backend): the URI, as long as the kernel can show
 * it. The kernel prints it with sprintf into one page (drivers/block/nbd.c,
 * backend_show), so a longer identifier would overrun that page whenever
 * someone reads the attribute (udev, a restarted daemon). A URI longer than
 * BACKEND_ID_MAX, which the grammar allows, is identified by its SHA-256
 * instead: still one identity per URI, which is what a take-over compares.
 */
#include <gnutls/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/backend_id.h"

char *backend_id(const char *uri)
{
	static const char prefix[] = "nbd-clientd:sha256:";
	uint8_t digest[32];
	char *id;

	if (strlen(uri) <= BACKEND_ID_MAX)
		return strdup(uri);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, uri, strlen(uri), digest) < 0)
		return NULL;
	id = malloc(sizeof(prefix) + 2 * sizeof(digest));
	if (!id)
		return NULL;
	memcpy(id, prefix, sizeof(prefix) - 1);
	for (size_t i = 0; i < sizeof(digest); i++)
		sprintf(id + sizeof(prefix) - 1 + 2 * i, "%02x", digest[i]);
	return id;
}
