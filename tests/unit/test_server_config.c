/* SPDX-License-Identifier: MIT */
/* Unit tests for nbd-serverd's configuration parser (server/config.c):
 * good files become the expected exports and settings; every bad file is
 * refused with the exact file:line and a reason. No backend is loaded. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ini.h>

#include "../../server/config.h"
#include "../../server/export_list.h"

static char err[2048];

static struct server_config *parse_ok(const char *text)
{
	static struct server_config cfg;

	err[0] = '\0';
	if (config_parse_string("t.conf", text, &cfg, err, sizeof(err)) < 0)
		fail_msg("unexpected error: %s", err);
	return &cfg;
}

/* The text must be refused with exactly this message. */
static void parse_bad(const char *text, const char *want)
{
	struct server_config cfg;

	memset(&cfg, 0xaa, sizeof(cfg));
	err[0] = '\0';
	assert_int_equal(config_parse_string("t.conf", text, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	/* A failed parse leaves nothing to free. */
	assert_int_equal(cfg.nexports, 0);
	assert_null(cfg.exports);
}

static const struct cnbd_param *param(const struct export_config *ec, const char *key)
{
	for (size_t i = 0; i < ec->nparams; i++)
		if (!strcmp(ec->params[i].key, key))
			return &ec->params[i];
	return NULL;
}

static void test_full_file(void **state)
{
	(void)state;
	struct server_config *cfg = parse_ok(
		"; a comment\n"
		"# another\n"
		"[server]\n"
		"listen = 127.0.0.1:10810\n"
		"listen = [::1]:10811   ; inline comment\n"
		"listen = unix:/run/cnbd/nbd.sock\n"
		"user = nbd\n"
		"backend-dir = /opt/cnbd/backends\n"
		"default-export = scratch\n"
		"handshake-timeout = 7\n"
		"pidfile = /run/nbd-serverd.pid\n"
		"unix-mode = 0660\n"
		"\n"
		"[disk0]\n"
		"backend = file\n"
		"path = /dev/sdb\n"
		"description = the second disk\n"
		"readonly = yes\n"
		"min-block-size = 512\n"
		"preferred-block-size = 64K\n"
		"max-block-size = 16M\n"
		"max-connections = 1\n"
		"\n"
		"[scratch]\n"
		"backend = memory\n"
		"size = 2G\n");

	assert_string_equal(cfg->source, "t.conf");
	assert_int_equal(cfg->nlisten, 3);
	assert_string_equal(cfg->listen[0], "127.0.0.1:10810");
	assert_string_equal(cfg->listen[1], "[::1]:10811");
	assert_string_equal(cfg->listen[2], "unix:/run/cnbd/nbd.sock");
	assert_string_equal(cfg->user, "nbd");
	assert_true(cfg->user_given);
	assert_string_equal(cfg->backend_dir, "/opt/cnbd/backends");
	assert_string_equal(cfg->default_export, "scratch");
	assert_int_equal(cfg->handshake_timeout, 7);
	assert_string_equal(cfg->pidfile, "/run/nbd-serverd.pid");
	assert_int_equal(cfg->unix_mode, 0660);

	assert_int_equal(cfg->nexports, 2);
	const struct export_config *d = &cfg->exports[0], *s = &cfg->exports[1];
	assert_string_equal(d->exp.name, "disk0");
	assert_string_equal(d->backend_name, "file");
	assert_string_equal(d->exp.description, "the second disk");
	assert_true(d->exp.readonly);
	assert_int_equal(d->exp.min_block, 512);
	assert_int_equal(d->exp.pref_block, 65536);
	assert_int_equal(d->exp.max_block, 16 << 20);
	assert_int_equal(d->exp.max_connections, 1);
	assert_int_equal(d->line, 14);
	assert_null(d->exp.backend);
	assert_null(d->exp.handle);
	/* Only the keys the server does not know reach the backend. */
	assert_int_equal(d->nparams, 1);
	assert_string_equal(param(d, "path")->value, "/dev/sdb");

	assert_string_equal(s->exp.name, "scratch");
	assert_string_equal(s->backend_name, "memory");
	assert_null(s->exp.description);
	assert_false(s->exp.readonly);
	assert_int_equal(s->line, 24);
	assert_int_equal(s->nparams, 1);
	assert_string_equal(param(s, "size")->value, "2G");
	config_free(cfg);
}

static void test_defaults(void **state)
{
	(void)state;
	struct server_config *cfg = parse_ok("[only]\nbackend = null\n");
	const struct cnbd_export *e;

	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0], "127.0.0.1:10809");
	assert_string_equal(cfg->user, "nbd");
	assert_false(cfg->user_given);
	assert_string_equal(cfg->backend_dir, CNBD_BACKENDDIR);
	assert_null(cfg->default_export);
	assert_null(cfg->pidfile);
	assert_int_equal(cfg->handshake_timeout, 30);
	assert_int_equal(cfg->unix_mode, 0666);
	assert_int_equal(cfg->nexports, 1);
	e = &cfg->exports[0].exp;
	assert_int_equal(e->min_block, 1);
	assert_int_equal(e->pref_block, 4096);
	assert_int_equal(e->max_block, 32 << 20);
	assert_int_equal(e->max_connections, 0);
	assert_false(e->readonly);
	assert_int_equal(cfg->exports[0].nparams, 0);
	config_free(cfg);
}

static void test_crlf_bom_and_blanks(void **state)
{
	(void)state;
	struct server_config *cfg = parse_ok(
		"\xEF\xBB\xBF[server]\r\n"
		"  listen =   *:10809  \r\n"
		"\r\n"
		"[a b]\r\n"
		"backend=null\r\n"
		"readonly:off\r\n");

	assert_string_equal(cfg->listen[0], "*:10809");
	assert_string_equal(cfg->exports[0].exp.name, "a b");
	assert_string_equal(cfg->exports[0].backend_name, "null");
	assert_false(cfg->exports[0].exp.readonly);
	config_free(cfg);
}

static void test_builtin(void **state)
{
	(void)state;
	struct server_config cfg;

	assert_int_equal(config_builtin(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nexports, 1);
	assert_string_equal(cfg.exports[0].exp.name, "default");
	assert_string_equal(cfg.exports[0].backend_name, "memory");
	assert_string_equal(param(&cfg.exports[0], "size")->value, "1G");
	assert_string_equal(cfg.listen[0], "127.0.0.1:10809");
	config_free(&cfg);
}

/* A table over a parsed text (the exports moved in). */
static void table(struct export_list *l, const char *text)
{
	struct server_config *cfg = parse_ok(text);

	export_list_init(l);
	assert_int_equal(export_list_adopt(l, cfg), 0);
	config_free(cfg);
}

/* The default-export rule behind an empty export name. */
static void test_default_export_rule(void **state)
{
	(void)state;
	struct export_list l;

	table(&l, "[server]\ndefault-export = b\n[a]\nbackend = null\n[b]\nbackend = null\n"
	      "[default]\nbackend = null\n");
	assert_string_equal(export_list_find(&l, "")->name, "b");
	assert_string_equal(export_list_find(&l, "a")->name, "a");
	assert_null(export_list_find(&l, "c"));
	assert_string_equal(export_list_at(&l, 0)->name, "a");
	assert_string_equal(export_list_at(&l, 2)->name, "default");
	assert_null(export_list_at(&l, 3));
	export_list_free(&l);

	table(&l, "[a]\nbackend = null\n[default]\nbackend = null\n");
	assert_string_equal(export_list_find(&l, "")->name, "default");
	export_list_free(&l);

	table(&l, "[solo]\nbackend = null\n");
	assert_string_equal(export_list_find(&l, "")->name, "solo");
	export_list_free(&l);

	table(&l, "[a]\nbackend = null\n[b]\nbackend = null\n");
	assert_null(export_list_find(&l, ""));
	export_list_free(&l);
}

static void test_unknown_server_key(void **state)
{
	(void)state;
	parse_bad("[server]\nlisten = 127.0.0.1:1\nbogus = 1\n[a]\nbackend = null\n",
		  "t.conf:3: unknown key 'bogus' in [server] (known: listen, user, backend-dir, "
		  "default-export, handshake-timeout, max-workers, pidfile, unix-mode, exports-dir, control, "
		  "tls, tls-certificates, tls-psk-file, tls-verify-peer, tls-kernel, allow, deny, statistics, "
		  "statistics-file, statistics-interval)");
}

static void test_bad_size(void **state)
{
	(void)state;
	parse_bad("[a]\nbackend = null\n\nmin-block-size = 12Q\n",
		  "t.conf:4: min-block-size: '12Q' is not a size (a number with an optional K, M or G suffix)");
	parse_bad("[a]\nbackend = null\nmax-block-size = -1\n",
		  "t.conf:3: max-block-size: '-1' is not a size (a number with an optional K, M or G suffix)");
}

static void test_bad_bool(void **state)
{
	(void)state;
	parse_bad("[a]\nbackend = null\nreadonly = maybe\n",
		  "t.conf:3: readonly: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
}

static void test_bad_numbers(void **state)
{
	(void)state;
	parse_bad("[server]\nhandshake-timeout = soon\n[a]\nbackend = null\n",
		  "t.conf:2: handshake-timeout: 'soon' is not a number from 0 to 3600");
	parse_bad("[a]\nbackend = null\nmax-connections = -1\n",
		  "t.conf:3: max-connections: '-1' is not a number from 0 (unlimited) to 65535");
	parse_bad("[server]\nunix-mode = 0999\n[a]\nbackend = null\n",
		  "t.conf:2: unix-mode: '0999' is not an octal mode from 0 to 0777");
	parse_bad("[server]\npidfile = run/x.pid\n[a]\nbackend = null\n",
		  "t.conf:2: pidfile: 'run/x.pid' is not an absolute path");
}

static void test_invalid_block_sizes(void **state)
{
	(void)state;
	parse_bad("[a]\nbackend = null\nmin-block-size = 3\n",
		  "t.conf:3: min-block-size: 3 is not a power of 2 from 1 to 64K");
	parse_bad("[a]\nbackend = null\nmin-block-size = 128K\n",
		  "t.conf:3: min-block-size: 128K is not a power of 2 from 1 to 64K");
	parse_bad("[a]\nbackend = null\npreferred-block-size = 256\n",
		  "t.conf:3: preferred-block-size: 256 is not a power of 2 from 512 to 64M");
	parse_bad("[a]\nbackend = null\npreferred-block-size = 6000\n",
		  "t.conf:3: preferred-block-size: 6000 is not a power of 2 from 512 to 64M");
	parse_bad("[a]\nbackend = null\nmax-block-size = 128M\n",
		  "t.conf:3: max-block-size: 128M is not from 512 to 64M");
	/* Relations between the three: reported on the last of them. */
	parse_bad("[a]\nbackend = null\nmin-block-size = 64K\ndescription = x\n",
		  "t.conf:3: export 'a': preferred-block-size 4096 is smaller than 65536 "
		  "(the larger of min-block-size and 512)");
	parse_bad("[a]\nmax-block-size = 4K\nbackend = null\npreferred-block-size = 8K\n",
		  "t.conf:4: export 'a': max-block-size 4096 is smaller than preferred-block-size 8192");
	parse_bad("[a]\nbackend = null\nmin-block-size = 4K\nmax-block-size = 10000\n"
		  "preferred-block-size = 4K\n",
		  "t.conf:5: export 'a': max-block-size 10000 is not a multiple of min-block-size 4096");
	/* Valid at the edges. */
	config_free(parse_ok("[a]\nbackend = null\nmin-block-size = 64K\npreferred-block-size = 64K\n"
			     "max-block-size = 64M\n"));
}

static void test_missing_backend(void **state)
{
	(void)state;
	parse_bad("[server]\nuser = nobody\n\n[disk]\npath = /x\nreadonly = true\n",
		  "t.conf:4: export 'disk' has no backend (add backend = file, memory, ...)");
	/* An empty section never reaches inih's handler; still caught. */
	parse_bad("[a]\nbackend = null\n[empty]\n; nothing\n[c]\nbackend = null\n",
		  "t.conf:3: export 'empty' has no backend (add backend = file, memory, ...)");
	parse_bad("[a]\nbackend =\n", "t.conf:2: 'backend' needs a value");
}

static void test_duplicate_export(void **state)
{
	(void)state;
	parse_bad("[a]\nbackend = null\n\n[b]\nbackend = null\n[a]\nbackend = file\n",
		  "t.conf:6: section [a] given twice (first on line 1)");
	/* Also when the second one is empty. */
	parse_bad("[a]\nbackend = null\n[a]\n",
		  "t.conf:3: section [a] given twice (first on line 1)");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	parse_bad("[server]\nuser = a\nuser = b\n[a]\nbackend = null\n",
		  "t.conf:3: 'user' given twice (first on line 2)");
	parse_bad("[a]\nbackend = null\nreadonly = 1\n\nreadonly = 0\n",
		  "t.conf:5: 'readonly' given twice (first on line 3)");
	parse_bad("[a]\nbackend = file\npath = /a\npath = /b\n",
		  "t.conf:4: 'path' given twice");
}

static void test_line_too_long(void **state)
{
	(void)state;
	char text[1024];
	char value[400];

	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	snprintf(text, sizeof(text), "[a]\nbackend = null\ndescription = %s\n", value);
	parse_bad(text, "t.conf:3: line longer than 197 characters");
}

static void test_syntax_error(void **state)
{
	(void)state;
	parse_bad("[a]\nbackend = null\nthis line has no equals sign\n",
		  "t.conf:3: syntax error (expected [section], key = value, or a comment)");
	parse_bad("[server\nlisten = 127.0.0.1:1\n",
		  "t.conf:1: syntax error (expected [section], key = value, or a comment)");
}

static void test_misplaced_and_odd_sections(void **state)
{
	(void)state;
	parse_bad("listen = 127.0.0.1:1\n[a]\nbackend = null\n",
		  "t.conf:1: 'listen' outside any section ([server] or [EXPORT-NAME])");
	parse_bad("[a]\nbackend = null\n[]\nbackend = null\n", "t.conf:3: empty section name");
	parse_bad("[a]\nbackend = null\n[0123456789012345678901234567890123456789012345678901]\n",
		  "t.conf:3: section name longer than 49 characters");
	parse_bad("; nothing\n[server]\nuser = nbd\n",
		  "t.conf: no exports: add a [NAME] section with a backend");
}

static void test_bad_listen(void **state)
{
	(void)state;
	parse_bad("[server]\nlisten = 127.0.0.1\n[a]\nbackend = null\n",
		  "t.conf:2: '127.0.0.1': expected HOST:PORT, [IPv6-ADDRESS]:PORT or unix:/PATH");
	parse_bad("[server]\nlisten = 127.0.0.1:0\n[a]\nbackend = null\n",
		  "t.conf:2: '0' is not a port number from 1 to 65535");
	parse_bad("[server]\nlisten = [::1]10809\n[a]\nbackend = null\n",
		  "t.conf:2: '[::1]10809': expected [IPv6-ADDRESS]:PORT");
	parse_bad("[server]\nlisten = unix:relative.sock\n[a]\nbackend = null\n",
		  "t.conf:2: unix socket path 'relative.sock' is not absolute");
	parse_bad("[server]\nlisten = ::1:10809\n[a]\nbackend = null\n",
		  "t.conf:2: '::1:10809': expected HOST:PORT, [IPv6-ADDRESS]:PORT or unix:/PATH");
}

static void test_default_export_missing(void **state)
{
	(void)state;
	parse_bad("[server]\nlisten = 127.0.0.1:1\ndefault-export = nope\n[a]\nbackend = null\n",
		  "t.conf:3: default-export: no export named 'nope'");
}

/* Errors come in the order of the file, whichever pass finds them. */
static void test_first_error_wins(void **state)
{
	(void)state;
	parse_bad("[a]\nbackend = null\nreadonly = maybe\n[a]\nbackend = null\n",
		  "t.conf:3: readonly: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
	parse_bad("[a]\nbackend = null\n[a]\nreadonly = maybe\n",
		  "t.conf:3: section [a] given twice (first on line 1)");
}

static void test_files(void **state)
{
	(void)state;
	/* In a directory of its own: as root (CI), a file directly in the
	 * sticky /tmp is refused (anyone could have linked it there). */
	char dir[] = "/tmp/test_server_config.XXXXXX", path[64];
	struct server_config cfg;
	char want[256];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[a]\nbackend = null\nbogus\n", 25), 25);
	assert_int_equal(config_parse_file(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: syntax error (expected [section], key = value, or a comment)", path);
	assert_string_equal(err, want);

	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "[a]\nbackend = null\n\0x = y\n", 26, 0), 26);
	assert_int_equal(config_parse_file(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: contains a NUL byte: not a text file", path);
	assert_string_equal(err, want);

	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "[a]\nbackend = null\n", 19, 0), 19);
	assert_int_equal(config_parse_file(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.source, path);
	assert_string_equal(cfg.exports[0].exp.name, "a");
	config_free(&cfg);
	close(fd);
	unlink(path);

	assert_int_equal(config_parse_file(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	rmdir(dir);
}

/* The example shipped for operators must be a valid configuration. */
static void test_shipped_example(void **state)
{
	(void)state;
	const char *src = getenv("CNBD_SRC");
	char path[4096];
	struct server_config cfg;

	snprintf(path, sizeof(path), "%s/server/nbd-serverd.conf.example", src ? src : ".");
	if (config_parse_file(path, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.nexports, 1);
	assert_string_equal(cfg.exports[0].exp.name, "default");
	assert_string_equal(cfg.exports[0].backend_name, "memory");
	assert_string_equal(cfg.listen[0], "127.0.0.1:10809");
	assert_string_equal(cfg.user, "nbd");
	config_free(&cfg);
}

/* A directory of drop-in files, removed by rm_dir. */
static char dropdir[64];

static void put_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dropdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(void)
{
	snprintf(dropdir, sizeof(dropdir), "/tmp/test_server_config.XXXXXX");
	assert_non_null(mkdtemp(dropdir));
}

static void rm_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dropdir);
	assert_int_equal(system(cmd), 0);
}

static const char *with_dir(const char *rest)
{
	static char text[1024];

	snprintf(text, sizeof(text), "[server]\nexports-dir = %s\n%s", dropdir, rest);
	return text;
}

static void test_exports_dir(void **state)
{
	struct server_config *cfg;

	(void)state;
	make_dir();
	put_file("20-b.conf", "; b\n[b]\nbackend = null\n[c]\nbackend = memory\nsize = 1M\n");
	put_file("10-a.conf", "[a]\nbackend = null\n");
	put_file("notes.txt", "[ignored]\n");
	put_file(".hidden.conf", "[ignored too]\n");
	cfg = parse_ok(with_dir("[main]\nbackend = null\n"));
	assert_int_equal(cfg->nexports, 4);
	/* The main file first, then the drop-ins in name order. */
	assert_string_equal(cfg->exports[0].exp.name, "main");
	assert_string_equal(cfg->exports[0].source, "t.conf");
	assert_string_equal(cfg->exports[1].exp.name, "a");
	assert_string_equal(cfg->exports[2].exp.name, "b");
	assert_int_equal(cfg->exports[2].line, 2);
	assert_string_equal(cfg->exports[3].exp.name, "c");
	assert_int_equal(cfg->exports[3].line, 4);
	assert_non_null(strstr(cfg->exports[3].source, "/20-b.conf"));
	config_free(cfg);
	rm_dir();
}

static void dir_bad(const char *file, const char *text, const char *main_rest,
		    const char *want_fmt)
{
	char want[512];

	make_dir();
	put_file(file, text);
	snprintf(want, sizeof(want), want_fmt, dropdir);
	parse_bad(with_dir(main_rest), want);
	rm_dir();
}

static void test_exports_dir_errors(void **state)
{
	(void)state;
	dir_bad("x.conf", "[server]\nuser = nbd\n", "[a]\nbackend = null\n",
		"%s/x.conf:1: [server] belongs in the main file t.conf, not in exports-dir");
	dir_bad("x.conf", "\n[a]\nbackend = null\n", "[a]\nbackend = null\n",
		"%s/x.conf:2: export 'a' is already defined in t.conf:3");
	dir_bad("x.conf", "[b]\nbackend = null\nreadonly = perhaps\n", "",
		"%s/x.conf:3: readonly: 'perhaps' is not a boolean (true/false, yes/no, on/off, 1/0)");
	dir_bad("x.conf", "[b]\npath = /x\n", "",
		"%s/x.conf:1: export 'b' has no backend (add backend = file, memory, ...)");
	dir_bad("x.conf", "backend = null\n", "",
		"%s/x.conf:1: 'backend' outside any section ([server] or [EXPORT-NAME])");
	parse_bad("[server]\nexports-dir = /nonexistent/cnbd\n",
		  "t.conf:2: exports-dir /nonexistent/cnbd: No such file or directory");
	parse_bad("[server]\nexports-dir = rel\n[a]\nbackend = null\n",
		  "t.conf:2: exports-dir: 'rel' is not an absolute path");
}

/* With a way to add exports later, a file may have none. */
static void test_no_exports_allowed(void **state)
{
	struct server_config *cfg;

	(void)state;
	make_dir();
	cfg = parse_ok(with_dir(""));
	assert_int_equal(cfg->nexports, 0);
	config_free(cfg);
	rm_dir();
	cfg = parse_ok("[server]\ncontrol = /run/x.sock\n");
	assert_int_equal(cfg->nexports, 0);
	config_free(cfg);
}

static void test_control_key(void **state)
{
	struct server_config *cfg;

	(void)state;
	cfg = parse_ok("[a]\nbackend = null\n");
	assert_string_equal(cfg->control, "/run/cnbd/serverd.sock");
	assert_false(cfg->control_given);
	config_free(cfg);
	cfg = parse_ok("[server]\ncontrol = off\n[a]\nbackend = null\n");
	assert_null(cfg->control);
	assert_true(cfg->control_given);
	config_free(cfg);
	cfg = parse_ok("[server]\ncontrol = /tmp/c.sock\n[a]\nbackend = null\n");
	assert_string_equal(cfg->control, "/tmp/c.sock");
	config_free(cfg);
	parse_bad("[server]\ncontrol = c.sock\n[a]\nbackend = null\n",
		  "t.conf:2: control: 'c.sock' is not an absolute path");
	parse_bad("[server]\ncontrol = off\ncontrol = /x\n[a]\nbackend = null\n",
		  "t.conf:3: 'control' given twice (first on line 2)");
}

static void runtime_bad(const char *name, const struct cnbd_param *pairs, size_t n,
			const char *want)
{
	struct export_config ec;

	err[0] = '\0';
	assert_int_equal(config_export_runtime(name, pairs, n, &ec, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_runtime_export(void **state)
{
	const struct cnbd_param good[] = {
		{ "backend", "memory" }, { "size", "1M" }, { "max-connections", "1" },
		{ "description", "a = b ; c" },
	};
	const struct cnbd_param twice[] = { { "backend", "null" }, { "readonly", "1" },
					    { "readonly", "0" } };
	const struct cnbd_param nobackend[] = { { "size", "1M" } };
	const struct cnbd_param badbool[] = { { "backend", "null" }, { "readonly", "maybe" } };
	const struct cnbd_param blocks[] = { { "backend", "null" }, { "min-block-size", "64K" } };
	struct export_config ec;

	(void)state;
	assert_int_equal(config_export_runtime("live one", good, 4, &ec, err, sizeof(err)), 0);
	assert_string_equal(ec.exp.name, "live one");
	assert_string_equal(ec.backend_name, "memory");
	assert_string_equal(ec.exp.description, "a = b ; c");
	assert_int_equal(ec.exp.max_connections, 1);
	assert_int_equal(ec.nparams, 1);
	assert_int_equal(ec.line, 0);
	assert_string_equal(ec.source, "control socket");
	config_export_free(&ec);

	runtime_bad("x", twice, 3, "export 'x': 'readonly' given twice");
	runtime_bad("x", nobackend, 1, "export 'x' has no backend (add backend = file, memory, ...)");
	runtime_bad("x", badbool, 2,
		    "export 'x': readonly: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
	runtime_bad("x", blocks, 2, "export 'x': preferred-block-size 4096 is smaller than 65536 "
		    "(the larger of min-block-size and 512)");
	runtime_bad("", good, 4, "an export name has 1 to 49 characters");
	runtime_bad("01234567890123456789012345678901234567890123456789", good, 4,
		    "an export name has 1 to 49 characters");
	runtime_bad("server", good, 4, "'server' names the [server] section, not an export");
	runtime_bad("a]b", good, 4, "an export name cannot hold control characters, ']' or ' ;'");
	runtime_bad("a\nb", good, 4, "an export name cannot hold control characters, ']' or ' ;'");
	runtime_bad(" a", good, 4, "an export name cannot begin or end with a blank");
}

/* A description goes out in INFO and LIST, whose strings the protocol
 * caps at 4096 bytes: more is refused with file:line, whatever the line
 * limit (raised here so that the line reaches the check), and at run
 * time (the control socket's add). Exactly 4096 is accepted. */
static void test_description_limit(void **state)
{
	static char text[5000], value[4098];
	struct cnbd_param pairs[] = { { "backend", "null" }, { "description", value } };
	struct export_config ec;
	struct server_config *cfg;
	int saved = ini_max_line;

	(void)state;
	memset(value, 'd', 4097);
	value[4097] = '\0';
	ini_max_line = 8192;
	snprintf(text, sizeof(text), "[a]\nbackend = null\ndescription = %s\n", value);
	parse_bad(text, "t.conf:3: description: 4097 bytes, more than the protocol's 4096");
	runtime_bad("x", pairs, 2, "export 'x': description: 4097 bytes, more than the protocol's 4096");

	value[4096] = '\0';
	snprintf(text, sizeof(text), "[a]\nbackend = null\ndescription = %s\n", value);
	cfg = parse_ok(text);
	assert_int_equal(strlen(cfg->exports[0].exp.description), 4096);
	config_free(cfg);
	assert_int_equal(config_export_runtime("x", pairs, 2, &ec, err, sizeof(err)), 0);
	assert_int_equal(strlen(ec.exp.description), 4096);
	config_export_free(&ec);
	ini_max_line = saved;
}

/* allow and deny, in [server] and in exports: repeatable, comma lists,
 * each bad entry refused with its line and the entry. */
static void test_access_lists(void **state)
{
	const struct cnbd_param rt[] = { { "backend", "null" }, { "allow", "10.0.0.0/8,uid:0" },
					 { "deny", "10.0.0.9" } };
	const struct cnbd_param rt_bad[] = { { "backend", "null" }, { "allow", "10.0.0.1/8" } };
	struct server_config *cfg;
	struct export_config ec;

	(void)state;
	cfg = parse_ok("[server]\nallow = 127.0.0.1, ::1 ,unix\nallow = 10.0.0.0/8\n"
		       "deny = 10.1.0.0/16\n[a]\nbackend = null\nallow = uid:0, user:root, "
		       "gid:0, group:root\ndeny = 192.168.0.0/16\n[b]\nbackend = null\n");
	assert_int_equal(cfg->acl.allow.n, 4);
	assert_int_equal(cfg->acl.deny.n, 1);
	assert_int_equal(cfg->exports[0].acl.allow.n, 4);
	assert_int_equal(cfg->exports[0].acl.allow.v[1].kind, ACL_UID);
	assert_int_equal(cfg->exports[0].acl.allow.v[1].id, 0);
	assert_int_equal(cfg->exports[0].acl.deny.n, 1);
	assert_true(acl_is_empty(&cfg->exports[1].acl));
	config_free(cfg);

	parse_bad("[server]\nallow = 10.0.0.0/33\n[a]\nbackend = null\n",
		  "t.conf:2: allow: '10.0.0.0/33': the prefix length must be from 0 to 32");
	parse_bad("[a]\nbackend = null\n\ndeny = 10.0.0.1/8\n",
		  "t.conf:4: deny: '10.0.0.1/8': bits are set past the /8 prefix");
	parse_bad("[a]\nbackend = null\nallow = ::1, user:no-such-user-here\n",
		  "t.conf:3: allow: 'user:no-such-user-here': no such user");
	parse_bad("[a]\nbackend = null\nallow = group:no-such-group-here\n",
		  "t.conf:3: allow: 'group:no-such-group-here': no such group");
	parse_bad("[a]\nbackend = null\nallow = uid:x\n",
		  "t.conf:3: allow: 'uid:x': not a number");
	parse_bad("[a]\nbackend = null\nallow = 127.0.0.1,,::1\n",
		  "t.conf:3: allow: an empty entry (entries are separated by commas)");
	parse_bad("[a]\nbackend = null\nallow = localhost\n",
		  "t.conf:3: allow: 'localhost' is not an IPv4 or IPv6 address or network "
		  "(10.0.0.0/8, fd00::/8), uid:N, gid:N, user:NAME, group:NAME or unix");
	parse_bad("[a]\nbackend = null\nallow = fd00::1/8\n",
		  "t.conf:3: allow: 'fd00::1/8': bits are set past the /8 prefix");

	assert_int_equal(config_export_runtime("x", rt, 3, &ec, err, sizeof(err)), 0);
	assert_int_equal(ec.acl.allow.n, 2);
	assert_int_equal(ec.acl.deny.n, 1);
	config_export_free(&ec);
	runtime_bad("x", rt_bad, 2, "export 'x': allow: '10.0.0.1/8': bits are set past the /8 prefix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_crlf_bom_and_blanks),
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_default_export_rule),
		cmocka_unit_test(test_unknown_server_key),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_bad_bool),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_invalid_block_sizes),
		cmocka_unit_test(test_missing_backend),
		cmocka_unit_test(test_duplicate_export),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_description_limit),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_misplaced_and_odd_sections),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test(test_default_export_missing),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_exports_dir),
		cmocka_unit_test(test_exports_dir_errors),
		cmocka_unit_test(test_no_exports_allowed),
		cmocka_unit_test(test_control_key),
		cmocka_unit_test(test_runtime_export),
		cmocka_unit_test(test_access_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
