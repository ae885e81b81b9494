/* SPDX-License-Identifier: MIT */
/* Unit tests for nbd-serverd's TLS settings (server/config_tls.c with
 * tls-kernel, the export key tls, server/tls_load.c): what parses, what is refused with
 * which file:line, and which key a credential that does not load is
 * blamed on. No certificate is needed: the loads tested here fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../server/config.h"
#include "../../server/tls_load.h"

static char err[2048];

static struct server_config *parse_ok(const char *text)
{
	static struct server_config cfg;

	err[0] = '\0';
	if (config_parse_string("t.conf", text, &cfg, err, sizeof(err)) < 0)
		fail_msg("unexpected error: %s", err);
	return &cfg;
}

static void parse_bad(const char *text, const char *want)
{
	struct server_config cfg;

	err[0] = '\0';
	assert_int_equal(config_parse_string("t.conf", text, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_null(cfg.exports);
}

static void test_default_off(void **state)
{
	struct server_config *cfg = parse_ok("[a]\nbackend = null\n");
	struct cnbd_tls *tls = (struct cnbd_tls *)1;

	(void)state;
	assert_int_equal(cfg->tls.mode, CNBD_TLS_OFF);
	assert_null(cfg->tls.certificates);
	assert_null(cfg->tls.psk_file);
	assert_false(cfg->tls.verify_peer);
	assert_int_equal(cfg->tls.kernel, TLS_KERNEL_OFF);
	assert_false(cfg->exports[0].exp.tls_required);
	/* Off loads nothing. */
	assert_int_equal(tls_load(cfg, &tls, err, sizeof(err)), 0);
	assert_null(tls);
	config_free(cfg);
}

static void test_full(void **state)
{
	struct server_config *cfg = parse_ok(
		"[server]\n"
		"tls = require\n"
		"tls-certificates = /etc/cnbd/pki\n"
		"tls-psk-file = /etc/cnbd/keys.psk\n"
		"tls-verify-peer = yes\n"
		"[secret]\n"
		"backend = null\n"
		"tls = require\n"
		"[open]\n"
		"backend = null\n");
	char line[512];

	(void)state;
	assert_int_equal(cfg->tls.mode, CNBD_TLS_REQUIRE);
	assert_string_equal(cfg->tls.certificates, "/etc/cnbd/pki");
	assert_string_equal(cfg->tls.psk_file, "/etc/cnbd/keys.psk");
	assert_true(cfg->tls.verify_peer);
	assert_int_equal(cfg->tls.mode_line, 2);
	assert_int_equal(cfg->tls.certificates_line, 3);
	assert_int_equal(cfg->tls.psk_file_line, 4);
	assert_true(cfg->exports[0].exp.tls_required);
	assert_false(cfg->exports[1].exp.tls_required);
	tls_describe(&cfg->tls, line, sizeof(line));
	assert_string_equal(line, "TLS require: X.509 from /etc/cnbd/pki (client certificates "
			    "required), PSK from /etc/cnbd/keys.psk");
	config_free(cfg);

	cfg = parse_ok("[server]\ntls = on\ntls-psk-file = /k\n[a]\nbackend = null\ntls = require\n");
	assert_int_equal(cfg->tls.mode, CNBD_TLS_ON);
	tls_describe(&cfg->tls, line, sizeof(line));
	assert_string_equal(line, "TLS on: PSK from /k");
	config_free(cfg);

	cfg = parse_ok("[server]\ntls = on\ntls-psk-file = /k\ntls-kernel = auto\n[a]\nbackend = null\n");
	assert_int_equal(cfg->tls.kernel, TLS_KERNEL_AUTO);
	assert_int_equal(cfg->tls.kernel_line, 4);
	tls_describe(&cfg->tls, line, sizeof(line));
	assert_string_equal(line, "TLS on: PSK from /k; tls-kernel = auto");
	config_free(cfg);
	cfg = parse_ok("[server]\ntls = on\ntls-psk-file = /k\ntls-kernel = off\n[a]\nbackend = null\n");
	assert_int_equal(cfg->tls.kernel, TLS_KERNEL_OFF);
	config_free(cfg);

	/* Credentials named with tls = off: kept for a later "on", unused. */
	cfg = parse_ok("[server]\ntls = off\ntls-certificates = /p\n[a]\nbackend = null\n");
	assert_int_equal(cfg->tls.mode, CNBD_TLS_OFF);
	config_free(cfg);
}

static void test_refused(void **state)
{
	(void)state;
	parse_bad("[server]\ntls = maybe\n[a]\nbackend = null\n",
		  "t.conf:2: tls: 'maybe' is not off, on or require");
	parse_bad("[server]\n\ntls = on\n[a]\nbackend = null\n",
		  "t.conf:3: tls = on needs tls-certificates or tls-psk-file");
	parse_bad("[server]\ntls = require\n[a]\nbackend = null\n",
		  "t.conf:2: tls = require needs tls-certificates or tls-psk-file");
	parse_bad("[server]\ntls = on\ntls-certificates = pki\n[a]\nbackend = null\n",
		  "t.conf:3: tls-certificates: 'pki' is not an absolute path");
	parse_bad("[server]\ntls = on\ntls-psk-file = keys.psk\n[a]\nbackend = null\n",
		  "t.conf:3: tls-psk-file: 'keys.psk' is not an absolute path");
	parse_bad("[server]\ntls = on\ntls = off\n[a]\nbackend = null\n",
		  "t.conf:3: 'tls' given twice (first on line 2)");
	parse_bad("[server]\ntls = on\ntls-psk-file = /k\ntls-verify-peer = sure\n[a]\nbackend = null\n",
		  "t.conf:4: tls-verify-peer: 'sure' is not a boolean (true/false, yes/no, on/off, 1/0)");
	parse_bad("[server]\ntls = on\ntls-psk-file = /k\ntls-verify-peer = true\n[a]\nbackend = null\n",
		  "t.conf:4: tls-verify-peer needs tls-certificates (a directory whose ca-cert.pem "
		  "signs the clients' certificates)");
	parse_bad("[server]\ntls = on\ntls-psk-file = /k\ntls-kernel = on\n[a]\nbackend = null\n",
		  "t.conf:4: tls-kernel: 'on' is not auto or off");
	parse_bad("[server]\ntls-kernel = off\ntls-kernel = off\n[a]\nbackend = null\n",
		  "t.conf:3: 'tls-kernel' given twice (first on line 2)");
	parse_bad("[a]\nbackend = null\n\ntls = require\n",
		  "t.conf:4: export 'a': tls = require, but the server has tls = off (set tls = on "
		  "or require in [server] of t.conf)");
	parse_bad("[server]\ntls = on\ntls-psk-file = /k\n[a]\nbackend = null\ntls = on\n",
		  "t.conf:6: tls: 'on' is not 'require' (the one setting an export has; [server] "
		  "tls decides the rest)");
	parse_bad("[server]\ntls = on\ntls-psk-file = /k\n[a]\nbackend = null\ntls = require\n"
		  "tls = require\n",
		  "t.conf:7: 'tls' given twice (first on line 6)");
}

static void runtime_tls(const struct server_config *cfg, int want, const char *want_err)
{
	const struct cnbd_param pairs[] = { { "backend", "null" }, { "tls", "require" } };
	struct export_config ec;

	assert_int_equal(config_export_runtime("r", pairs, 2, &ec, err, sizeof(err)), 0);
	assert_true(ec.exp.tls_required);
	err[0] = '\0';
	assert_int_equal(config_check_export_tls(cfg, &ec, 0, err, sizeof(err)), want);
	assert_string_equal(err, want_err);
	config_export_free(&ec);
}

/* The control socket's add is checked against the server's tls too. */
static void test_runtime(void **state)
{
	struct server_config *cfg;

	(void)state;
	cfg = parse_ok("[a]\nbackend = null\n");
	runtime_tls(cfg, -1, "export 'r': tls = require, but the server has tls = off (set "
		    "tls = on or require in [server] of t.conf)");
	config_free(cfg);
	cfg = parse_ok("[server]\ntls = on\ntls-psk-file = /k\n[a]\nbackend = null\n");
	runtime_tls(cfg, 0, "");
	config_free(cfg);
}

/* A credential that does not load is blamed on its key's line. */
static void load_bad(const char *text, const char *want)
{
	struct server_config *cfg = parse_ok(text);
	struct cnbd_tls *tls = NULL;

	err[0] = '\0';
	assert_int_equal(tls_load(cfg, &tls, err, sizeof(err)), -1);
	assert_null(tls);
	assert_string_equal(err, want);
	config_free(cfg);
}

static void test_load_errors(void **state)
{
	(void)state;
	load_bad("[server]\ntls = on\ntls-certificates = /nonexistent\n[a]\nbackend = null\n",
		 "t.conf:3: tls-certificates: /nonexistent must hold server-cert.pem and "
		 "server-key.pem");
	load_bad("[server]\ntls = on\n\ntls-psk-file = /nonexistent.psk\n[a]\nbackend = null\n",
		 "t.conf:4: tls-psk-file: /nonexistent.psk: No such file or directory");
	/* Both wrong: the certificates are read first. */
	load_bad("[server]\ntls = on\ntls-psk-file = /nonexistent.psk\n"
		 "tls-certificates = /nonexistent\n[a]\nbackend = null\n",
		 "t.conf:4: tls-certificates: /nonexistent must hold server-cert.pem and "
		 "server-key.pem");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_off),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_runtime),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
