/* SPDX-License-Identifier: MIT */
/*
 * TLS credentials for the workers. The master reads them (as root, at
 * start and at each reload) before any fork: the key file may be
 * readable by root only, and a worker that has dropped to nobody could
 * not open it. Workers get the loaded credentials through fork.
 */
#ifndef CNBD_SERVER_TLS_LOAD_H
#define CNBD_SERVER_TLS_LOAD_H

#include <stddef.h>

#include "config.h"

/* Reads what cfg->tls names into *out (NULL when tls = off). 0, or -1
 * with "file:line: key: reason" in err and *out untouched. */
int tls_load(const struct server_config *cfg, struct cnbd_tls **out,
	     char *err, size_t errlen);
/* For the log: "TLS require: X.509 from DIR, PSK from FILE" or "TLS off". */
void tls_describe(const struct tls_config *t, char *buf, size_t len);

#endif
