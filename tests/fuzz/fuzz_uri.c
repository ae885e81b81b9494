/* SPDX-License-Identifier: MIT */
/* Target uri: lib/clientlib/uri.c's NBD URI parser on the input as a string. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "fuzz_text.h"
#include "clientlib/uri.h"

void fuzz_uri(const uint8_t *data, size_t len)
{
	struct nbd_uri uri;
	char err[256];
	char *text = fuzz_text(data, len);

	if (uri_parse(text, &uri, err, sizeof(err)) == 0) {
		/* What it filled must be terminated strings. */
		if (strnlen(uri.host, sizeof(uri.host)) == sizeof(uri.host) ||
		    strnlen(uri.port, sizeof(uri.port)) == sizeof(uri.port) ||
		    strnlen(uri.export_name, sizeof(uri.export_name)) ==
			    sizeof(uri.export_name) ||
		    uri.socket_len > URI_SOCKET_MAX)
			abort();
	} else if (strnlen(err, sizeof(err)) == sizeof(err)) {
		abort();
	}
	free(text);
}

FUZZ_TARGET(fuzz_uri)
