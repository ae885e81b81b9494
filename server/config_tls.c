/* SPDX-License-Identifier: MIT */
/*
 * The TLS keys of [server]: tls = off | on | require, where the
 * credentials are, whether clients need a certificate, and whether the
 * workers hand their sessions to kernel TLS (tls-kernel). Only names
 * are checked here; the files are read by the master (tls_load.c), so
 * that a configuration can be checked without them.
 */
#include <stdio.h>
#include <string.h>

#include "config_priv.h"

static const char *const tls_keys[] = {
	"tls", "tls-certificates", "tls-psk-file", "tls-verify-peer", "tls-kernel",
};

static const char *mode_name(enum cnbd_tls_mode mode)
{
	return mode == CNBD_TLS_REQUIRE ? "require" : mode == CNBD_TLS_ON ? "on" : "off";
}

bool config_is_tls_key(const char *key)
{
	for (size_t i = 0; i < sizeof(tls_keys) / sizeof(tls_keys[0]); i++)
		if (!strcmp(key, tls_keys[i]))
			return true;
	return false;
}

static int set_mode(struct tls_config *t, int line, const char *value,
		    char *err, size_t errlen)
{
	if (config_twice(&t->mode_line, line, "tls", err, errlen) < 0)
		return -1;
	if (!strcmp(value, "off")) {
		t->mode = CNBD_TLS_OFF;
	} else if (!strcmp(value, "on")) {
		t->mode = CNBD_TLS_ON;
	} else if (!strcmp(value, "require")) {
		t->mode = CNBD_TLS_REQUIRE;
	} else {
		snprintf(err, errlen, "tls: '%s' is not off, on or require", value);
		return -1;
	}
	return 0;
}

static int set_kernel(struct tls_config *t, int line, const char *value,
		      char *err, size_t errlen)
{
	if (config_twice(&t->kernel_line, line, "tls-kernel", err, errlen) < 0)
		return -1;
	if (!strcmp(value, "auto")) {
		t->kernel = TLS_KERNEL_AUTO;
	} else if (!strcmp(value, "off")) {
		t->kernel = TLS_KERNEL_OFF;
	} else {
		snprintf(err, errlen, "tls-kernel: '%s' is not auto or off", value);
		return -1;
	}
	return 0;
}

int config_tls_key(struct config_parse *p, const char *key, const char *value,
		   int line, char *err, size_t errlen)
{
	struct tls_config *t = &p->cfg->tls;

	if (!strcmp(key, "tls"))
		return set_mode(t, line, value, err, errlen);
	if (!strcmp(key, "tls-kernel"))
		return set_kernel(t, line, value, err, errlen);
	if (!strcmp(key, "tls-certificates"))
		return config_set_path(&t->certificates, &t->certificates_line, line,
				       key, value, err, errlen);
	if (!strcmp(key, "tls-psk-file"))
		return config_set_path(&t->psk_file, &t->psk_file_line, line,
				       key, value, err, errlen);
	/* tls-verify-peer */
	return config_set_bool(&t->verify_peer, &t->verify_peer_line, line, key, value,
			       err, errlen);
}

int config_check_export_tls(const struct server_config *cfg,
			    const struct export_config *ec, int line,
			    char *err, size_t errlen)
{
	char where[512] = "";

	if (!ec->exp.tls_required || cfg->tls.mode != CNBD_TLS_OFF)
		return 0;
	if (line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", ec->source, line);
	snprintf(err, errlen,
		 "%sexport '%s': tls = require, but the server has tls = off (set tls = on or require in [server] of %s)",
		 where, ec->exp.name, cfg->source);
	return -1;
}

int config_tls_check(const struct server_config *cfg, char *err, size_t errlen)
{
	const struct tls_config *t = &cfg->tls;

	/* Checked whatever the mode: the two keys contradict each other. */
	if (t->verify_peer && !t->certificates) {
		snprintf(err, errlen,
			 "%s:%d: tls-verify-peer needs tls-certificates (a directory whose ca-cert.pem signs the clients' certificates)",
			 cfg->source, t->verify_peer_line);
		return -1;
	}
	if (t->mode != CNBD_TLS_OFF && !t->certificates && !t->psk_file) {
		snprintf(err, errlen, "%s:%d: tls = %s needs tls-certificates or tls-psk-file",
			 cfg->source, t->mode_line, mode_name(t->mode));
		return -1;
	}
	return 0;
}
