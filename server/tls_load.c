/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "tls_load.h"

/* The load failed with both kinds of credentials named: which key is
 * to blame? Load the certificates alone (cheap, and only on this path)
 * to tell. */
static int blame_line(const struct tls_config *t, const char **key)
{
	struct cnbd_tls *probe;
	char ignored[256];

	*key = "tls-certificates";
	if (!t->psk_file)
		return t->certificates_line;
	if (t->certificates) {
		probe = cnbd_tls_server_new(t->certificates, NULL, t->verify_peer,
					    ignored, sizeof(ignored));
		if (!probe)
			return t->certificates_line;
		cnbd_tls_free(probe);
	}
	*key = "tls-psk-file";
	return t->psk_file_line;
}

int tls_load(const struct server_config *cfg, struct cnbd_tls **out,
	     char *err, size_t errlen)
{
	const struct tls_config *t = &cfg->tls;
	struct cnbd_tls *tls;
	const char *key;
	char why[768];
	int line;

	if (t->mode == CNBD_TLS_OFF) {
		*out = NULL;
		return 0;
	}
	tls = cnbd_tls_server_new(t->certificates, t->psk_file, t->verify_peer,
				  why, sizeof(why));
	if (!tls) {
		line = blame_line(t, &key);
		snprintf(err, errlen, "%s:%d: %s: %s", cfg->source, line, key, why);
		return -1;
	}
	*out = tls;
	return 0;
}

void tls_describe(const struct tls_config *t, char *buf, size_t len)
{
	static const char *const mode[] = {
		[CNBD_TLS_OFF] = "off", [CNBD_TLS_ON] = "on", [CNBD_TLS_REQUIRE] = "require",
	};

	if (t->mode == CNBD_TLS_OFF) {
		snprintf(buf, len, "TLS off");
		return;
	}
	snprintf(buf, len, "TLS %s:%s%s%s%s%s%s%s", mode[t->mode],
		 t->certificates ? " X.509 from " : "",
		 t->certificates ? t->certificates : "",
		 t->verify_peer ? " (client certificates required)" : "",
		 t->certificates && t->psk_file ? "," : "",
		 t->psk_file ? " PSK from " : "", t->psk_file ? t->psk_file : "",
		 t->kernel == TLS_KERNEL_AUTO ? "; tls-kernel = auto" : "");
}
