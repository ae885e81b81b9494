/* SPDX-License-Identifier: MIT */
/*
 * nbdctl exports URI [--long]: what a server exports, asked directly
 * (NBD_OPT_LIST; with --long also NBD_OPT_INFO per export for its size).
 * No daemon and no root needed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientlib/client.h"
#include "nbdctl.h"

#define EXPORTS_TIMEOUT_S	10
/* The whole listing: a server that drips its replies is given up. */
#define EXPORTS_DEADLINE_S	60

struct listed_exports {
	char **names;
	char **descs;
	size_t n, cap;
};

static int collect(void *opaque, const char *name, const char *desc)
{
	struct listed_exports *l = opaque;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **names = realloc(l->names, cap * sizeof(char *));
		char **descs = names ? realloc(l->descs, cap * sizeof(char *)) : NULL;

		if (names)
			l->names = names;
		if (!names || !descs)
			return -1;
		l->descs = descs;
		l->cap = cap;
	}
	l->names[l->n] = strdup(name);
	l->descs[l->n] = strdup(desc);
	if (!l->names[l->n] || !l->descs[l->n])
		return -1;
	l->n++;
	return 0;
}

static void print_long(struct nbd_client *c, const char *name, const char *desc)
{
	struct client_export ex;

	nbdctl_print_escaped(name);
	if (client_info(c, name, &ex) == 0) {
		printf("\t%" PRIu64 "\t", ex.size);
		nbdctl_print_escaped(desc[0] ? desc : ex.description);
	} else {
		printf("\t-\t");
		nbdctl_print_escaped(desc);
	}
	putchar('\n');
}

static int list_exports(const char *text, bool longform)
{
	struct listed_exports l = { 0 };
	struct nbd_client c;
	struct nbd_uri uri;
	char err[512];
	int rc = 1;

	/* A listing never reaches the kernel, so nbds:// is fine here. */
	if (uri_parse_tls(text, &uri, err, sizeof(err)) < 0) {
		fprintf(stderr, "nbdctl exports: %s\n", err);
		return 1;
	}
	if (client_open(&c, &uri, EXPORTS_TIMEOUT_S) < 0)
		goto fail;
	client_set_deadline(&c, EXPORTS_DEADLINE_S);
	if (client_list(&c, collect, &l) != 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++) {
		if (longform) {
			print_long(&c, l.names[i], l.descs[i]);
		} else {
			nbdctl_print_escaped(l.names[i]);
			putchar('\n');
		}
	}
	client_abort(&c);
	rc = 0;
	goto out;
fail:
	/* The library's sentences hold server strings only made printable. */
	fprintf(stderr, "nbdctl exports: %s\n", c.error[0] ? c.error : strerror(ENOMEM));
out:
	client_close(&c);
	for (size_t i = 0; i < l.n; i++) {
		free(l.names[i]);
		free(l.descs[i]);
	}
	free(l.names);
	free(l.descs);
	return rc;
}

static int exports_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	static const struct option longopts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	bool longform = false;
	int c;

	(void)opts;
	while ((c = getopt_long(argc, argv, "l", longopts, NULL)) != -1) {
		if (c != 'l')
			return nbdctl_usage(&nbdctl_exports_command);
		longform = true;
	}
	if (optind != argc - 1)
		return nbdctl_usage(&nbdctl_exports_command);
	return list_exports(argv[optind], longform);
}

const struct nbdctl_command nbdctl_exports_command = {
	.name = "exports",
	.usage = "URI [--long]",
	.summary = "list a server's exports (--long: NAME<TAB>SIZE<TAB>DESCRIPTION)",
	.run = exports_run,
};
