/* SPDX-License-Identifier: MIT */
/*
 * The control socket's "stats [NAME] [--prometheus]": each export's
 * counts (of its ended and live connections), then each live
 * connection's, one line each; or the Prometheus text, a line a word.
 *
 *   kind=export name=db connections=2 connections-total=17 read=R,B,E,NS,H0,H1,... ... errors=EIO:3
 *   kind=connection name=db pid=2211 peer=10.0.0.7%3A41234 read=... errors=
 *
 * For each command (stats_cmd_name): requests, bytes, errors, the sum of
 * latencies in ns, then the latency histogram from bucket 0 up to the
 * last that is not empty (bucket b: under 2^b microseconds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/control_text.h"
#include "master.h"

/* Room for one command: four numbers and 32 buckets of 20 digits. */
#define CMD_WORD_MAX	(40 * 21)

static void command_word(const struct stats_command *k, char *out, size_t len)
{
	int last = STATS_BUCKETS - 1;
	size_t n;

	while (last >= 0 && !k->latency[last])
		last--;
	n = (size_t)snprintf(out, len, "%llu,%llu,%llu,%llu", (unsigned long long)k->requests,
			     (unsigned long long)k->bytes, (unsigned long long)k->errors,
			     (unsigned long long)k->ns);
	for (int b = 0; b <= last && n < len; b++)
		n += (size_t)snprintf(out + n, len - n, ",%llu", (unsigned long long)k->latency[b]);
}

/* " read=... write=... errors=EIO:3" */
static void counters_words(const struct stats_counters *c, char *out, size_t len)
{
	size_t n = 0;

	for (int i = 0; i < STATS_NCMD && n < len; i++) {
		char word[CMD_WORD_MAX];

		command_word(&c->cmd[i], word, sizeof(word));
		n += (size_t)snprintf(out + n, len - n, " %s=%s", stats_cmd_name(i), word);
	}
	if (n < len)
		n += (size_t)snprintf(out + n, len - n, " errors=");
	for (int e = 0, first = 1; e < STATS_NERR && n < len; e++) {
		if (!c->errors[e])
			continue;
		n += (size_t)snprintf(out + n, len - n, "%s%s:%llu", first ? "" : ",",
				      stats_error_name(e), (unsigned long long)c->errors[e]);
		first = 0;
	}
}

static const char *escaped(const char *in, char *out, size_t len)
{
	if (control_escape(in, out, len) < 0)
		snprintf(out, len, "%%3F");
	return out;
}

static void export_lines(struct master *m, const char *only, struct control_reply *r)
{
	static char words[STATS_NCMD * (CMD_WORD_MAX + 16) + 512];
	char name[256], peer[3 * PEER_NAME_MAX];
	struct stats_counters c;

	for (size_t i = 0; i < m->stats.n; i++) {
		const struct stats_entry *e = &m->stats.v[i];

		if (only && strcmp(only, e->name))
			continue;
		counters_words(&e->c, words, sizeof(words));
		control_reply_line(r, "kind=export name=%s connections=%u connections-total=%llu%s",
				   escaped(e->name, name, sizeof(name)),
				   worker_list_leases(&m->workers, e->name),
				   (unsigned long long)e->connections, words);
	}
	for (size_t i = 0; i < m->workers.n; i++) {
		const struct worker *w = &m->workers.v[i];

		if ((only && (!w->lease || strcmp(only, w->lease))) ||
		    !master_stats_connection(w, &c))
			continue;
		counters_words(&c, words, sizeof(words));
		control_reply_line(r, "kind=connection name=%s pid=%d peer=%s%s",
				   escaped(w->lease, name, sizeof(name)), (int)w->pid,
				   escaped(w->peer_name, peer, sizeof(peer)), words);
	}
}

static void prometheus_lines(struct master *m, struct control_reply *r)
{
	static char word[3 * 4096];
	char *text = master_stats_prometheus(m), *save = NULL;

	if (!text) {
		control_reply_line(r, "error: out of memory");
		return;
	}
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		control_reply_line(r, "line=%s", escaped(l, word, sizeof(word)));
	free(text);
	control_reply_line(r, "ok");
}

void master_control_stats(struct master *m, char **words, size_t n, struct control_reply *r)
{
	bool prom = n == 2 && !strcmp(words[1], "--prometheus");
	char *only = n == 2 && !prom ? words[1] : NULL;

	if (n > 2) {
		control_reply_line(r, "error: usage: stats [NAME | --prometheus]");
		return;
	}
	if (prom) {
		prometheus_lines(m, r);
		return;
	}
	if (only && control_unescape(only, only, strlen(only) + 1) < 0) {
		control_reply_line(r, "error: bad %%-escape in the export name");
		return;
	}
	master_stats_fold_all(m);
	if (only && !export_list_get(&m->exports, only) && !worker_list_leases(&m->workers, only)) {
		control_reply_line(r, "error: no export named '%s'", words[1]);
		return;
	}
	export_lines(m, only, r);
	control_reply_line(r, "ok");
}
