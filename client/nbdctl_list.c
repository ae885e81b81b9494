/* SPDX-License-Identifier: MIT */
/*
 * nbdctl list [--json]: the devices the client daemon attached. Three
 * forms: an aligned table on a terminal; for anything else the stable
 * form scripts (and the tests) read, one device per line in fixed
 * columns; and --json (docs/client.md has the schema).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control_client.h"
#include "common/control_text.h"
#include "nbdctl.h"
#include "nbdctl_json.h"
#include "nbdctl_table.h"

#define LIST_TIMEOUT_S	10

enum { DEV, STATE, BINDING, SIZE, CONNS, RECONNECTS, TLS, URI, NCOLS };

static const struct table_column columns[NCOLS] = {
	{ "DEVICE", false }, { "STATE", false }, { "BINDING", false }, { "SIZE", true },
	{ "CONNS", true }, { "RECONNECTS", true }, { "TLS", false }, { "URI", false },
};
static const char *const keys[NCOLS] = {
	"device", "state", "binding", "size", "connections", "reconnects", "tls", "uri",
};

static const struct json_field json_fields[] = {
	{ "device", JSON_STRING_OR_NULL }, { "spec", JSON_STRING },
	{ "state", JSON_STRING }, { "binding", JSON_STRING },
	{ "size", JSON_NUMBER }, { "connections", JSON_NUMBER },
	{ "readonly", JSON_BOOL }, { "timeout", JSON_NUMBER },
	{ "dead-timeout", JSON_NUMBER }, { "negotiate-timeout", JSON_NUMBER },
	{ "reconnects", JSON_NUMBER }, { "tls", JSON_STRING },
	{ "source", JSON_STRING }, { "uri", JSON_STRING },
	{ "export", JSON_STRING }, { "error", JSON_STRING_OR_NULL },
};

struct list {
	enum { PLAIN, TABLE, JSON } form;
	bool header;			/* PLAIN: printed */
	struct table table;
	struct json_array json;
};

/* A line's value of key, or "-"; *v is malloc'd as long as the line. */
static char *value(const char *line, const char *key)
{
	char *v = malloc(strlen(line) + 2);

	if (v && control_field(line, key, v, strlen(line) + 1) < 0)
		strcpy(v, "-");
	return v;
}

/* The stable form: fixed columns, the URI last and whole, the last
 * error on a line of its own. Tests and scripts read it: keep it. */
static void print_plain(struct list *l, char *const *v, const char *error)
{
	if (!l->header) {
		printf("%-8s %-13s %-8s %14s %5s %10s %-6s %s\n", "DEVICE", "STATE", "BINDING",
		       "SIZE", "CONNS", "RECONNECTS", "TLS", "URI");
		l->header = true;
	}
	printf("%-8s %-13s %-8s %14s %5s %10s %-6s ", v[DEV], v[STATE], v[BINDING], v[SIZE],
	       v[CONNS], v[RECONNECTS], v[TLS]);
	nbdctl_print_escaped(v[URI]);
	putchar('\n');
	if (error[0]) {
		printf("         last error: ");
		nbdctl_print_escaped(error);
		putchar('\n');
	}
}

static int add_row(struct list *l, char **v, const char *error)
{
	char size[32], *note = NULL;
	char *raw_size = v[SIZE];
	uint64_t bytes;
	int rc;

	if (sscanf(raw_size, "%" SCNu64, &bytes) == 1 && strcmp(raw_size, "0")) {
		table_size(bytes, size, sizeof(size));
		v[SIZE] = size;
	}
	if (error[0] && asprintf(&note, "last error: %s", error) < 0)
		note = NULL;
	rc = table_add(&l->table, (const char *const *)v, note);
	v[SIZE] = raw_size;
	free(note);
	return rc;
}

static int on_line(void *opaque, const char *line)
{
	struct list *l = opaque;
	char *v[NCOLS] = { NULL }, *error;
	int rc = -1;

	if (l->form == JSON)
		return json_object(&l->json, line);
	error = value(line, "error");
	for (size_t i = 0; i < NCOLS; i++)
		if (!(v[i] = value(line, keys[i])))
			goto out;
	if (!error)
		goto out;
	if (!strcmp(error, "-"))
		error[0] = '\0';
	if (l->form == PLAIN) {
		print_plain(l, v, error);
		rc = 0;
	} else {
		rc = add_row(l, v, error);
	}
out:
	for (size_t i = 0; i < NCOLS; i++)
		free(v[i]);
	free(error);
	return rc;
}

static int list_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct list l = { .form = isatty(STDOUT_FILENO) ? TABLE : PLAIN,
			  .table = { .cols = columns, .ncols = NCOLS },
			  .json = { .name = "devices", .fields = json_fields,
				    .nfields = sizeof(json_fields) / sizeof(json_fields[0]) } };
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'j')
			return nbdctl_usage(&nbdctl_list_command);
		l.form = JSON;
	}
	if (optind != argc)
		return nbdctl_usage(&nbdctl_list_command);
	if (l.form == JSON && json_open(&l.json) < 0)
		return 1;
	rc = nbdctl_daemon_call(opts, "list", "list", LIST_TIMEOUT_S, on_line, &l);
	if (l.form == JSON)
		json_close(&l.json, rc == 0);
	if (rc == 0 && l.form == TABLE && l.table.nrows)
		table_print(&l.table, stdout);
	table_free(&l.table);
	return rc;
}

const struct nbdctl_command nbdctl_list_command = {
	.name = "list",
	.usage = "[--json]",
	.summary = "the devices the daemon attached: device, state, binding, size, connections, reconnects, TLS, URI",
	.run = list_run,
};
