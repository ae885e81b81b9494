/* SPDX-License-Identifier: MIT */
/*
 * A strict NBD URI parser (RFC 3986 syntax, doc/uri.md semantics). It
 * refuses rather than guesses: a URI that names TLS, a user, or a query
 * parameter this client does not know would otherwise connect somewhere
 * the operator did not mean, without encryption they asked for.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/parse.h"
#include "clientlib/uri.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_unreserved(int c)
{
	return isascii(c) && (isalnum(c) || strchr("-._~", c));
}

static bool is_sub_delim(int c)
{
	return c && strchr("!$&'()*+,;=", c);
}

/* Characters a path may hold unescaped (pchar and '/'). */
static bool is_path_char(int c)
{
	return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/';
}

/* In a query key or value: pchar, '/' and '?', but not the separators. */
static bool is_query_char(int c)
{
	return (is_path_char(c) || c == '?') && c != '&' && c != '=';
}

/*
 * Percent-decodes s[0..len) into out (NUL-terminated), checking every
 * raw character with ok(). *outlen gets the decoded length, which may
 * include NUL bytes when allow_nul is set.
 */
static int decode(const char *s, size_t len, bool (*ok)(int), bool allow_nul,
		  char *out, size_t outsize, size_t *outlen, const char *what,
		  char *err, size_t errlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			c = parse_percent_escape(s, len, i);
			if (c < 0)
				return fail(err, errlen, "bad percent escape in %s", what);
			i += 2;
			if (c == 0 && !allow_nul)
				return fail(err, errlen, "%s contains a NUL byte (%%00)", what);
		} else if (!ok(c)) {
			if (isprint(c))
				return fail(err, errlen,
					    "character '%c' in %s must be percent-encoded",
					    c, what);
			return fail(err, errlen,
				    "byte 0x%02x in %s must be percent-encoded", c, what);
		}
		if (n + 1 >= outsize)
			return fail(err, errlen, "%s is longer than %zu bytes", what,
				    outsize - 1);
		out[n++] = c;
	}
	out[n] = '\0';
	if (outlen)
		*outlen = n;
	return 0;
}

static int parse_port(const char *s, size_t len, struct nbd_uri *uri,
		      char *err, size_t errlen)
{
	unsigned long port = 0;

	if (len == 0)
		return fail(err, errlen, "empty port after ':'");
	if (len > 5)
		return fail(err, errlen, "port '%.*s' is out of range (1-65535)",
			    (int)len, s);
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return fail(err, errlen, "port '%.*s' is not a number",
				    (int)len, s);
		port = port * 10 + (s[i] - '0');
	}
	if (port < 1 || port > 65535)
		return fail(err, errlen, "port '%.*s' is out of range (1-65535)",
			    (int)len, s);
	snprintf(uri->port, sizeof(uri->port), "%lu", port);
	return 0;
}

static bool is_zone_char(int c)
{
	return is_unreserved(c);
}

/* "[addr]" or "[addr%25zone]" (RFC 6874); returns the length consumed. */
static int parse_ipv6(const char *s, size_t len, struct nbd_uri *uri,
		      char *err, size_t errlen)
{
	const char *close = memchr(s, ']', len);
	const char *zone;
	char addr[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	size_t alen;

	if (!close)
		return fail(err, errlen, "'[' without a closing ']' in the host");
	zone = memchr(s + 1, '%', close - s - 1);
	alen = (zone ? zone : close) - (s + 1);
	if (alen == 0 || alen >= sizeof(addr))
		return fail(err, errlen, "'%.*s' is not an IPv6 address",
			    (int)(close - s + 1), s);
	memcpy(addr, s + 1, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return fail(err, errlen, "'%s' is not an IPv6 address", addr);
	memcpy(uri->host, addr, alen + 1);
	if (zone) {
		char z[64];
		size_t zlen;

		if (close - zone < 3 || strncmp(zone, "%25", 3))
			return fail(err, errlen,
				    "an IPv6 zone must be written %%25zone");
		if (decode(zone + 3, close - zone - 3, is_zone_char, false, z,
			   sizeof(z), &zlen, "the IPv6 zone", err, errlen) < 0)
			return -1;
		if (zlen == 0)
			return fail(err, errlen, "empty IPv6 zone");
		snprintf(uri->host + alen, sizeof(uri->host) - alen, "%%%s", z);
	}
	return close - s + 1;
}

static bool is_host_char(int c)
{
	return isascii(c) && (isalnum(c) || c == '-' || c == '.' || c == '_');
}

static int parse_authority(const char *s, size_t len, struct nbd_uri *uri,
			   char *err, size_t errlen)
{
	size_t hlen;

	const char *at = memchr(s, '@', len);

	if (at && !uri->tls)
		return fail(err, errlen,
			    "a user name (user@host) is only used for TLS, which this client does not support here");
	if (at) {
		if (decode(s, at - s, is_unreserved, false, uri->tls_username,
			   sizeof(uri->tls_username), NULL, "the user name", err, errlen) < 0)
			return -1;
		len -= at + 1 - s;
		s = at + 1;
	}
	if (uri->transport == URI_UNIX) {
		if (len)
			return fail(err, errlen,
				    "nbd+unix URIs take no host: write nbd+unix:///export?socket=PATH");
		return 0;
	}
	snprintf(uri->port, sizeof(uri->port), "%d", NBD_DEFAULT_PORT);
	if (len == 0)
		return fail(err, errlen, "no host: write nbd://host[:port]/export");
	if (s[0] == '[') {
		int used = parse_ipv6(s, len, uri, err, errlen);

		if (used < 0)
			return -1;
		hlen = used;
	} else {
		for (hlen = 0; hlen < len && s[hlen] != ':'; hlen++) {
			if (!is_host_char((unsigned char)s[hlen]))
				return fail(err, errlen,
					    "character '%c' is not allowed in a host name",
					    s[hlen]);
		}
		if (hlen == 0)
			return fail(err, errlen,
				    "no host before ':' (an IPv6 address goes in brackets: [::1])");
		if (hlen > URI_HOST_MAX)
			return fail(err, errlen, "host name longer than %d characters",
				    URI_HOST_MAX);
		memcpy(uri->host, s, hlen);
		uri->host[hlen] = '\0';
	}
	if (hlen == len)
		return 0;
	if (s[hlen] != ':')
		return fail(err, errlen, "unexpected '%c' after the IPv6 address",
			    s[hlen]);
	return parse_port(s + hlen + 1, len - hlen - 1, uri, err, errlen);
}

/* tls-certificates, tls-psk-file, tls-username (libnbd's name for the
 * identity user@ also gives), tls-verify-peer (uri_parse_tls only). */
static int parse_tls_param(const char *key, const char *v, size_t vlen,
			   struct nbd_uri *uri, char *err, size_t errlen)
{
	char value[URI_PATH_MAX];

	if (!uri->tls)
		return fail(err, errlen, "'%s' is a TLS setting, for nbds:// URIs only", key);
	if (decode(v, vlen, is_query_char, false, value, sizeof(value), NULL,
		   key, err, errlen) < 0)
		return -1;
	if (!strcmp(key, "tls-certificates"))
		snprintf(uri->tls_certificates, sizeof(uri->tls_certificates), "%s", value);
	else if (!strcmp(key, "tls-psk-file"))
		snprintf(uri->tls_psk_file, sizeof(uri->tls_psk_file), "%s", value);
	else if (!strcmp(key, "tls-username") && value[0] &&
		 strlen(value) < sizeof(uri->tls_username))
		snprintf(uri->tls_username, sizeof(uri->tls_username), "%s", value);
	else if (!strcmp(key, "tls-verify-peer") && parse_bool(value) >= 0)
		uri->tls_no_verify = !parse_bool(value);
	else
		return fail(err, errlen, "unknown or invalid TLS parameter '%s=%s'", key, value);
	return 0;
}

static int parse_param(const char *s, size_t len, struct nbd_uri *uri,
		       bool *have_socket, char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', len);
	char key[64];

	if (len == 0)
		return fail(err, errlen, "empty query parameter (stray '&')");
	if (!eq)
		return fail(err, errlen, "query parameter '%.*s' has no '=value'",
			    (int)len, s);
	if (decode(s, eq - s, is_query_char, false, key, sizeof(key), NULL,
		   "a query parameter name", err, errlen) < 0)
		return -1;
	if (!strncmp(key, "tls", 3))
		return parse_tls_param(key, eq + 1, len - (eq + 1 - s), uri, err, errlen);
	if (strcmp(key, "socket"))
		return fail(err, errlen, "unknown query parameter '%s'", key);
	if (uri->transport != URI_UNIX)
		return fail(err, errlen,
			    "socket= belongs to nbd+unix URIs, not nbd://");
	if (*have_socket)
		return fail(err, errlen, "socket= given twice");
	*have_socket = true;
	if (decode(eq + 1, len - (eq + 1 - s), is_query_char, true, uri->socket,
		   sizeof(uri->socket), &uri->socket_len, "the socket path",
		   err, errlen) < 0)
		return -1;
	if (uri->socket_len == 0)
		return fail(err, errlen, "empty socket path");
	return 0;
}

static int parse_query(const char *s, size_t len, struct nbd_uri *uri,
		       char *err, size_t errlen)
{
	bool have_socket = false;

	for (;;) {
		const char *amp = memchr(s, '&', len);
		size_t plen = amp ? (size_t)(amp - s) : len;

		if (parse_param(s, plen, uri, &have_socket, err, errlen) < 0)
			return -1;
		if (!amp)
			break;
		s += plen + 1;
		len -= plen + 1;
	}
	if (uri->transport == URI_UNIX && !have_socket)
		return fail(err, errlen,
			    "nbd+unix URIs need ?socket=PATH");
	return 0;
}

static int parse_scheme(const char *text, size_t len, struct nbd_uri *uri,
			char *err, size_t errlen)
{
	if (len == 3 && !strncasecmp(text, "nbd", 3)) {
		uri->transport = URI_TCP;
		return 0;
	}
	if (len == 8 && !strncasecmp(text, "nbd+unix", 8)) {
		uri->transport = URI_UNIX;
		return 0;
	}
	if ((len == 4 && !strncasecmp(text, "nbds", 4)) ||
	    (len == 9 && !strncasecmp(text, "nbds+unix", 9))) {
		if (!uri->tls)
			return fail(err, errlen,
				    "scheme '%.*s' needs TLS, which the kernel cannot speak: "
				    "attach a plaintext export (nbd://) on a trusted network",
				    (int)len, text);
		uri->transport = len == 4 ? URI_TCP : URI_UNIX;
		return 0;
	}
	if (len > 4 && !strncasecmp(text, "nbd+", 4))
		return fail(err, errlen, "transport '%.*s' is not supported (use nbd or nbd+unix)",
			    (int)len, text);
	return fail(err, errlen, "not an NBD URI (it must start nbd:// or nbd+unix://)");
}

static int parse(const char *text, struct nbd_uri *uri, char *err, size_t errlen)
{
	const char *colon = strchr(text, ':');
	const char *auth, *path, *query, *end = text + strlen(text);

	if (!colon || colon == text)
		return fail(err, errlen, "not an NBD URI (it must start nbd:// or nbd+unix://)");
	if (parse_scheme(text, colon - text, uri, err, errlen) < 0)
		return -1;
	if (strncmp(colon + 1, "//", 2))
		return fail(err, errlen, "expected '//' after '%.*s:'",
			    (int)(colon - text), text);
	if (strchr(text, '#'))
		return fail(err, errlen, "a fragment ('#') has no meaning in an NBD URI");
	auth = colon + 3;
	query = strchr(auth, '?');
	if (!query)
		query = end;
	path = memchr(auth, '/', query - auth);
	if (!path)
		path = query;
	if (parse_authority(auth, path - auth, uri, err, errlen) < 0)
		return -1;
	/* The export is the path without its leading '/'. */
	if (path < query &&
	    decode(path + 1, query - path - 1, is_path_char, false,
		   uri->export_name, sizeof(uri->export_name), NULL,
		   "the export name", err, errlen) < 0)
		return -1;
	if (query == end) {
		if (uri->transport == URI_UNIX)
			return fail(err, errlen, "nbd+unix URIs need ?socket=PATH");
		return 0;
	}
	return parse_query(query + 1, end - query - 1, uri, err, errlen);
}

/* While parsing, uri->tls says whether TLS may appear; afterwards,
 * whether the URI uses it. */
static int parse_uri(const char *text, struct nbd_uri *uri, bool allow_tls,
		     char *err, size_t errlen)
{
	char why[256];
	int rc;

	memset(uri, 0, sizeof(*uri));
	if (!text || !*text) {
		snprintf(err, errlen, "empty URI");
		return -1;
	}
	uri->tls = allow_tls;
	rc = parse(text, uri, why, sizeof(why));
	if (rc == 0 && allow_tls) {
		uri->tls = !strncasecmp(text, "nbds:", 5) || !strncasecmp(text, "nbds+", 5);
		if (!uri->tls && (uri->tls_username[0] || uri->tls_certificates[0] ||
				  uri->tls_psk_file[0] || uri->tls_no_verify)) {
			snprintf(why, sizeof(why), "TLS settings need an nbds:// URI");
			rc = -1;
		}
	}
	if (rc == 0)
		return 0;
	/* Quote the URI, shortened so that the reason is never cut off. */
	if (strlen(text) > 80)
		snprintf(err, errlen, "%.60s...: %s", text, why);
	else
		snprintf(err, errlen, "%s: %s", text, why);
	return -1;
}

int uri_parse(const char *text, struct nbd_uri *uri, char *err, size_t errlen)
{
	return parse_uri(text, uri, false, err, errlen);
}

int uri_parse_tls(const char *text, struct nbd_uri *uri, char *err, size_t errlen)
{
	return parse_uri(text, uri, true, err, errlen);
}
