/* SPDX-License-Identifier: MIT */
/*
 * nbdctl server stats [NAME] [--json | --prometheus]: the control
 * socket's "stats" lines (server/control_stats.c) shown for people, as
 * one JSON document, or as the Prometheus text the server makes.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../server/stats.h"
#include "common/control_text.h"
#include "control_client.h"
#include "nbdctl.h"
#include "nbdctl_json.h"
#include "nbdctl_server_stats.h"

/* Folding every worker's page is quick; this only bounds a stuck server. */
#define STATS_TIMEOUT_S	30

enum form { PLAIN, JSON, PROMETHEUS };

struct row {
	bool export;			/* else a connection */
	char name[256], peer[256];
	long pid;
	unsigned long long connections, total;
	struct stats_counters c;
};

struct output {
	enum form form;
	size_t exports, conns;		/* printed so far */
	bool bad;			/* a line that does not parse */
};

static bool parse_numbers(const char *text, uint64_t *v, size_t max, size_t *n)
{
	char *end;

	*n = 0;
	for (const char *p = text; *p; p = end + (*end == ',')) {
		if (*n == max)
			return false;
		v[(*n)++] = strtoull(p, &end, 10);
		if (end == p || (*end && *end != ','))
			return false;
	}
	return true;
}

static bool parse_command(const char *line, int i, struct stats_command *k)
{
	char text[CONTROL_LINE_MAX];
	uint64_t v[4 + STATS_BUCKETS];
	size_t n;

	if (control_field(line, stats_cmd_name(i), text, sizeof(text)) < 0 ||
	    !parse_numbers(text, v, 4 + STATS_BUCKETS, &n) || n < 4)
		return false;
	k->requests = v[0];
	k->bytes = v[1];
	k->errors = v[2];
	k->ns = v[3];
	for (size_t b = 4; b < n; b++)
		k->latency[b - 4] = v[b];
	return true;
}

/* "EIO:3,ENOSPC:1" */
static bool parse_errors(const char *line, uint64_t *errors)
{
	char text[1024], *save = NULL;

	if (control_field(line, "errors", text, sizeof(text)) < 0)
		return !strstr(line, " errors=");	/* empty: none */
	for (char *w = strtok_r(text, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(w, ':');
		int e;

		if (!colon)
			return false;
		*colon = '\0';
		for (e = 0; e < STATS_NERR && strcmp(w, stats_error_name(e)); e++)
			;
		if (e == STATS_NERR)
			return false;
		errors[e] = strtoull(colon + 1, NULL, 10);
	}
	return true;
}

static bool parse_row(const char *line, struct row *r)
{
	char kind[32], num[32];

	memset(r, 0, sizeof(*r));
	if (control_field(line, "kind", kind, sizeof(kind)) < 0 ||
	    control_field(line, "name", r->name, sizeof(r->name)) < 0)
		return false;
	r->export = !strcmp(kind, "export");
	if (r->export) {
		if (control_field(line, "connections", num, sizeof(num)) < 0)
			return false;
		r->connections = strtoull(num, NULL, 10);
		if (control_field(line, "connections-total", num, sizeof(num)) < 0)
			return false;
		r->total = strtoull(num, NULL, 10);
	} else {
		if (control_field(line, "pid", num, sizeof(num)) < 0 ||
		    control_field(line, "peer", r->peer, sizeof(r->peer)) < 0)
			return false;
		r->pid = strtol(num, NULL, 10);
	}
	for (int i = 0; i < STATS_NCMD; i++)
		if (!parse_command(line, i, &r->c.cmd[i]))
			return false;
	return parse_errors(line, r->c.errors);
}

/* The latency under which a fraction q of the requests came back: the
 * upper bound of the bucket that holds the q-th; "-" for none. */
static void percentile(const struct stats_command *k, double q, char *out, size_t len)
{
	uint64_t want = (uint64_t)(q * (double)k->requests + 0.999999), seen = 0;

	snprintf(out, len, "-");
	for (int b = 0; k->requests && b < STATS_BUCKETS; b++) {
		seen += k->latency[b];
		if (seen < want || !want)
			continue;
		if (b == STATS_BUCKETS - 1)
			snprintf(out, len, ">%llus", (1ULL << (b - 1)) / 1000000);
		else if (b >= 20)
			snprintf(out, len, "<%llus", ((1ULL << b) + 999999) / 1000000);
		else if (b >= 10)
			snprintf(out, len, "<%llums", ((1ULL << b) + 999) / 1000);
		else
			snprintf(out, len, "<%lluus", 1ULL << b);
		return;
	}
}

static void print_plain(const struct row *r)
{
	if (r->export) {
		printf("export ");
		nbdctl_print_escaped(r->name);
		printf(": %llu connection%s now, %llu since the server started\n",
		       r->connections, r->connections == 1 ? "" : "s", r->total);
	} else {
		printf("connection %ld (", r->pid);
		nbdctl_print_escaped(r->peer);
		printf(") to ");
		nbdctl_print_escaped(r->name);
		putchar('\n');
	}
	printf("  %-13s %12s %16s %8s %10s %8s %8s\n", "COMMAND", "REQUESTS", "BYTES",
	       "ERRORS", "MEAN", "P50", "P99");
	for (int i = 0; i < STATS_NCMD; i++) {
		const struct stats_command *k = &r->c.cmd[i];
		char mean[32] = "-", p50[32], p99[32];

		if (!k->requests)
			continue;
		snprintf(mean, sizeof(mean), "%.1fus", (double)k->ns / 1e3 / (double)k->requests);
		percentile(k, 0.5, p50, sizeof(p50));
		percentile(k, 0.99, p99, sizeof(p99));
		printf("  %-13s %12" PRIu64 " %16" PRIu64 " %8" PRIu64 " %10s %8s %8s\n",
		       stats_cmd_name(i), k->requests, k->bytes, k->errors, mean, p50, p99);
	}
	bool any = false;

	for (int e = 0; e < STATS_NERR; e++) {
		if (!r->c.errors[e])
			continue;
		printf("%s%s %" PRIu64, any ? ", " : "  errors: ", stats_error_name(e),
		       r->c.errors[e]);
		any = true;
	}
	if (any)
		putchar('\n');
}

static void json_counters(FILE *out, const struct stats_counters *c)
{
	fputs(", \"commands\": {", out);
	for (int i = 0; i < STATS_NCMD; i++) {
		const struct stats_command *k = &c->cmd[i];

		fprintf(out, "%s\"%s\": {\"requests\": %" PRIu64 ", \"bytes\": %" PRIu64
			", \"errors\": %" PRIu64 ", \"latency-ns-sum\": %" PRIu64
			", \"latency-histogram\": [", i ? ", " : "", stats_cmd_name(i),
			k->requests, k->bytes, k->errors, k->ns);
		for (int b = 0; b < STATS_BUCKETS; b++)
			fprintf(out, "%s%" PRIu64, b ? ", " : "", k->latency[b]);
		fputs("]}", out);
	}
	fputs("}, \"errors\": {", out);
	for (int e = 0; e < STATS_NERR; e++)
		fprintf(out, "%s\"%s\": %" PRIu64, e ? ", " : "", stats_error_name(e),
			c->errors[e]);
	fputs("}}", out);
}

struct json_doc {
	FILE *exports, *conns;		/* open_memstream's */
	char *etext, *ctext;
	size_t elen, clen;
};

static void json_row(struct json_doc *d, struct output *o, const struct row *r)
{
	FILE *f = r->export ? d->exports : d->conns;

	fputs((r->export ? o->exports : o->conns) ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
	json_string(f, r->name);
	if (r->export) {
		fprintf(f, ", \"connections\": %llu, \"connections-total\": %llu",
			r->connections, r->total);
	} else {
		fprintf(f, ", \"pid\": %ld, \"peer\": ", r->pid);
		json_string(f, r->peer);
	}
	json_counters(f, &r->c);
}

struct stats_call {
	struct output o;
	struct json_doc d;
};

static int on_line(void *opaque, const char *line)
{
	struct stats_call *st = opaque;
	char text[CONTROL_LINE_MAX];
	struct row r;

	if (st->o.form == PROMETHEUS) {
		if (control_field(line, "line", text, sizeof(text)) < 0)
			st->o.bad = true;
		else
			printf("%s\n", text);
		return 0;
	}
	if (!parse_row(line, &r)) {
		st->o.bad = true;
		return 0;
	}
	if (st->o.form == JSON)
		json_row(&st->d, &st->o, &r);
	else
		print_plain(&r);
	if (r.export)
		st->o.exports++;
	else
		st->o.conns++;
	return 0;
}

/* The bucket bounds, so that a reader need not know the rule. */
static void json_print(struct json_doc *d)
{
	fclose(d->exports);
	fclose(d->conns);
	printf("{\"latency-bucket-us\": [");
	for (int b = 0; b < STATS_BUCKETS - 1; b++)
		printf("%s%llu", b ? ", " : "", 1ULL << b);
	printf(", null],\n \"exports\": [%s\n ],\n \"connections\": [%s\n ]}\n",
	       d->etext ? d->etext : "", d->ctext ? d->ctext : "");
}

static int usage(void)
{
	fprintf(stderr, "usage: nbdctl server stats [NAME] [--json] | --prometheus\n");
	return 2;
}

/* "stats [NAME] [--prometheus]", the name escaped. */
static int request(const char *name, bool prom, char *line, size_t len)
{
	char esc[CONTROL_LINE_MAX];

	if (name && control_escape(name, esc, sizeof(esc)) < 0)
		return -1;
	snprintf(line, len, "stats%s%s%s", name ? " " : "", name ? esc : "",
		 prom ? " --prometheus" : "");
	return 0;
}

int nbdctl_server_stats(const char *socket, int argc, char **argv)
{
	static char line[CONTROL_LINE_MAX + 32];
	struct stats_call st = { .o.form = PLAIN };
	const char *name = NULL;
	char err[1024];
	enum control_result rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			printf("usage: nbdctl server stats [NAME] [--json] | --prometheus\n"
			       "What each export and each live connection of nbd-serverd served:\n"
			       "requests, bytes and errors by command, latency; --json: everything,\n"
			       "histograms whole; --prometheus: the text statistics-file holds.\n");
			return 0;
		}
		if (!strcmp(argv[i], "--json"))
			st.o.form = JSON;
		else if (!strcmp(argv[i], "--prometheus"))
			st.o.form = PROMETHEUS;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return usage();
	}
	if ((st.o.form == PROMETHEUS && name) ||
	    request(name, st.o.form == PROMETHEUS, line, sizeof(line)) < 0)
		return usage();
	if (st.o.form == JSON) {
		st.d.exports = open_memstream(&st.d.etext, &st.d.elen);
		st.d.conns = open_memstream(&st.d.ctext, &st.d.clen);
		if (!st.d.exports || !st.d.conns) {
			fprintf(stderr, "nbdctl server stats: out of memory\n");
			return 1;
		}
	}
	rc = control_call("nbd-serverd", socket, line, STATS_TIMEOUT_S, on_line, &st,
			  err, sizeof(err));
	if (rc == CONTROL_OK && st.o.bad) {
		snprintf(err, sizeof(err), "the server sent a line this nbdctl does not understand");
		rc = CONTROL_BROKEN;
	}
	if (st.o.form == JSON) {
		if (rc == CONTROL_OK) {
			json_print(&st.d);
		} else {
			fclose(st.d.exports);
			fclose(st.d.conns);
		}
		free(st.d.etext);
		free(st.d.ctext);
	}
	if (rc == CONTROL_OK)
		return 0;
	fprintf(stderr, "nbdctl server stats: %s\n", err);
	return 1;
}
