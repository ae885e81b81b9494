/* SPDX-License-Identifier: MIT */
/*
 * NBD URIs (doc/uri.md of the NBD project):
 *   nbd://host[:port][/export]          TCP; host may be [IPv6]
 *   nbd+unix:///export?socket=PATH      Unix domain socket
 * Parsing is strict: anything this client cannot honour (TLS schemes and
 * parameters, userinfo, unknown parameters, fragments, bad escapes) is
 * refused with a sentence naming the problem, never silently ignored.
 */
#ifndef CNBD_URI_H
#define CNBD_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#include "cnbd/protocol.h"

enum uri_transport {
	URI_TCP,
	URI_UNIX,
};

#define URI_HOST_MAX	255
#define URI_SOCKET_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define URI_PATH_MAX	1024

struct nbd_uri {
	enum uri_transport transport;
	char host[URI_HOST_MAX + 1];	/* TCP: name or address, no brackets */
	char port[6];			/* TCP: decimal, "10809" by default */
	/* Unix: the path; an abstract socket starts with a NUL byte, so
	 * the length is kept beside it. */
	char socket[URI_SOCKET_MAX + 1];
	size_t socket_len;
	char export_name[NBD_MAX_STRING + 1];
	/* nbds:// and nbds+unix:// (uri_parse_tls only) */
	bool tls;
	char tls_certificates[URI_PATH_MAX];	/* ?tls-certificates=DIR */
	char tls_psk_file[URI_PATH_MAX];	/* ?tls-psk-file=FILE */
	char tls_username[URI_HOST_MAX + 1];	/* nbds://USER@host: the PSK identity */
	bool tls_no_verify;			/* ?tls-verify-peer=false */
};

/* 0 with *uri filled, or -1 with a reason in err ("... in URI: ...").
 * TLS URIs are refused: for callers that cannot carry TLS. */
int uri_parse(const char *text, struct nbd_uri *uri, char *err, size_t errlen);
/* The same, also accepting nbds:// and nbds+unix:// with user@ (the PSK
 * identity; or tls-username=USER), tls-certificates=DIR, tls-psk-file=FILE
 * and tls-verify-peer=false: for tools that speak NBD themselves and for
 * the client daemon (kernel TLS or its relay). */
int uri_parse_tls(const char *text, struct nbd_uri *uri, char *err, size_t errlen);

#endif
