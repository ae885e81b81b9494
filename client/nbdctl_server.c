/* SPDX-License-Identifier: MIT */
/*
 * nbdctl server [--socket PATH] list [--json] | add NAME KEY=VALUE... |
 *                               remove NAME [--force] | reload |
 *                               commit NAME | reset NAME |
 *                               stats [NAME] [--json] | stats --prometheus
 * nbd-serverd's control socket from the command line (the protocol is in
 * docs/server.md). Part of nbdctl, written on the server's side. list
 * has the three forms of nbdctl list: a table on a terminal, fixed
 * columns otherwise, --json.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control_client.h"
#include "common/control_text.h"
#include "nbdctl.h"
#include "nbdctl_json.h"
#include "nbdctl_server_stats.h"
#include "nbdctl_table.h"

#define SERVER_CONTROL_DEFAULT	"/run/cnbd/serverd.sock"
/* A reload opens storage; give it time. A commit copies an overlay
 * into its base: as long as that takes. */
#define SERVER_TIMEOUT_S	30
#define SERVER_COMMIT_TIMEOUT_S	(24 * 3600)

struct control_line {
	char line[CONTROL_LINE_MAX];
	size_t len;
	bool too_long;
	bool json;		/* list --json */
};

enum { NAME, BACKEND, CONNS, MAX, DESCRIPTION, NCOLS };

static const struct table_column columns[NCOLS] = {
	{ "NAME", false }, { "BACKEND", false }, { "CONNS", true }, { "MAX", true },
	{ "DESCRIPTION", false },
};

static const struct json_field json_fields[] = {
	{ "name", JSON_STRING }, { "backend", JSON_STRING },
	{ "connections", JSON_NUMBER }, { "max-connections", JSON_NUMBER },
	{ "source", JSON_STRING }, { "description", JSON_STRING_OR_NULL },
};

struct listing {
	enum { PLAIN, TABLE, JSON } form;
	bool header;
	struct table table;
	struct json_array json;
};

/* Appends " WORD", percent-escaped when escape is set. */
static void add_word(struct control_line *rq, const char *word, bool escape)
{
	char esc[CONTROL_LINE_MAX];
	int n;

	if (escape && control_escape(word, esc, sizeof(esc)) < 0) {
		rq->too_long = true;
		return;
	}
	n = snprintf(rq->line + rq->len, sizeof(rq->line) - rq->len, "%s%s",
		     rq->len ? " " : "", escape ? esc : word);
	if (n < 0 || (size_t)n >= sizeof(rq->line) - rq->len)
		rq->too_long = true;
	else
		rq->len += n;
}

/* KEY=VALUE with each side escaped, so that '=' or a blank in a value
 * (a description) survives. */
static int add_pair(struct control_line *rq, const char *pair)
{
	const char *eq = strchr(pair, '=');
	char key[256];

	if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof(key)) {
		fprintf(stderr, "nbdctl server add: '%s' is not KEY=VALUE\n", pair);
		return -1;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - pair), pair);
	add_word(rq, key, true);
	rq->line[rq->len++] = '=';
	rq->line[rq->len] = '\0';
	if (control_escape(eq + 1, rq->line + rq->len, sizeof(rq->line) - rq->len) < 0)
		rq->too_long = true;
	else
		rq->len += strlen(rq->line + rq->len);
	return 0;
}

static void field(const char *line, const char *key, char *out, size_t outlen)
{
	if (control_field(line, key, out, outlen) < 0)
		snprintf(out, outlen, "-");
}

/* The stable form: the name in 20 columns, then fixed ones. Tests and
 * scripts read it: keep it. */
static void print_plain(struct listing *l, const char *name, const char *backend,
			const char *conns, const char *max, const char *desc)
{
	if (!l->header) {
		printf("%-20s %-8s %5s %5s  %s\n", "NAME", "BACKEND", "CONNS", "MAX",
		       "DESCRIPTION");
		l->header = true;
	}
	nbdctl_print_escaped(name);
	printf("%*s %-8s %5s %5s  ", (int)(strlen(name) < 20 ? 20 - strlen(name) : 0), "",
	       backend, conns, max);
	nbdctl_print_escaped(desc);
	putchar('\n');
}

static int print_export(void *opaque, const char *line)
{
	char name[256], backend[256], conns[16], max[16], desc[CONTROL_LINE_MAX];
	struct listing *l = opaque;
	const char *cells[NCOLS] = { name, backend, conns, max, desc };

	if (l->form == JSON)
		return json_object(&l->json, line);
	field(line, "name", name, sizeof(name));
	field(line, "backend", backend, sizeof(backend));
	field(line, "connections", conns, sizeof(conns));
	field(line, "max-connections", max, sizeof(max));
	field(line, "description", desc, sizeof(desc));
	if (!strcmp(max, "0"))
		strcpy(max, "-");
	if (l->form == TABLE)
		return table_add(&l->table, cells, NULL);
	print_plain(l, name, backend, conns, max, desc);
	return 0;
}

static int call(const char *socket, const char *verb, const struct control_line *rq)
{
	struct listing l = { .form = rq->json ? JSON : isatty(STDOUT_FILENO) ? TABLE : PLAIN,
			     .table = { .cols = columns, .ncols = NCOLS },
			     .json = { .name = "exports", .fields = json_fields,
				       .nfields = sizeof(json_fields) / sizeof(json_fields[0]) } };
	bool list = !strcmp(verb, "list");
	char err[1024];
	enum control_result rc;

	if (rq->too_long) {
		fprintf(stderr, "nbdctl server %s: request longer than %d bytes\n", verb,
			CONTROL_LINE_MAX - 1);
		return 1;
	}
	if (rq->json && json_open(&l.json) < 0)
		return 1;
	rc = control_call("nbd-serverd", socket, rq->line,
			  strcmp(verb, "commit") ? SERVER_TIMEOUT_S : SERVER_COMMIT_TIMEOUT_S,
			  list ? print_export : nbdctl_print_info, &l, err, sizeof(err));
	if (rq->json)
		json_close(&l.json, rc == CONTROL_OK);
	if (rc == CONTROL_OK && l.form == TABLE && l.table.nrows)
		table_print(&l.table, stdout);
	table_free(&l.table);
	if (rc == CONTROL_OK)
		return 0;
	fprintf(stderr, "nbdctl server %s: %s\n", verb, err);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: nbdctl server %s\n", nbdctl_server_command.usage);
	return 2;
}

static int build(int argc, char **argv, struct control_line *rq)
{
	const char *verb = argv[0];

	add_word(rq, verb, false);
	if ((!strcmp(verb, "list") || !strcmp(verb, "reload")) && argc == 1)
		return 0;
	if (!strcmp(verb, "list") && argc == 2 && !strcmp(argv[1], "--json")) {
		rq->json = true;
		return 0;
	}
	if ((!strcmp(verb, "commit") || !strcmp(verb, "reset")) && argc == 2) {
		add_word(rq, argv[1], true);
		return 0;
	}
	if (!strcmp(verb, "remove") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "--force")))) {
		add_word(rq, argv[1], true);
		if (argc == 3)
			add_word(rq, "--force", false);
		return 0;
	}
	if (!strcmp(verb, "add") && argc >= 3) {
		add_word(rq, argv[1], true);
		for (int i = 2; i < argc; i++)
			if (add_pair(rq, argv[i]) < 0)
				return -1;
		return 0;
	}
	return usage();
}

static int server_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* nbdctl's own --socket names the client daemon's, unless given. */
	const char *socket = strcmp(opts->socket, CONTROL_DEFAULT_SOCKET) ?
			     opts->socket : SERVER_CONTROL_DEFAULT;
	struct control_line rq = { .len = 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: nbdctl server %s\n", nbdctl_server_command.usage);
			return 0;
		}
		if (c != 's')
			return usage();
		socket = optarg;
	}
	if (optind >= argc)
		return usage();
	if (!strcmp(argv[optind], "stats"))
		return nbdctl_server_stats(socket, argc - optind, argv + optind);
	rc = build(argc - optind, argv + optind, &rq);
	if (rc)
		return rc < 0 ? 1 : rc;
	return call(socket, argv[optind], &rq);
}

const struct nbdctl_command nbdctl_server_command = {
	.name = "server",
	.usage = "[--socket PATH] list [--json] | add NAME KEY=VALUE... | remove NAME [--force] | reload"
		 " | commit NAME | reset NAME | stats [NAME] [--json] | stats --prometheus",
	.summary = "nbd-serverd's exports at run time (its control socket, default "
		   SERVER_CONTROL_DEFAULT ")",
	.run = server_run,
};
