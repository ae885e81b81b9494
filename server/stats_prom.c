/* SPDX-License-Identifier: MIT */
/*
 * The export totals in Prometheus's text exposition format (version
 * 0.0.4), and statistics-file: that text written for node_exporter's
 * textfile collector, every statistics-interval seconds, by rename so
 * that a scrape never reads half a file.
 *
 * Why a file and not a socket of our own: the master holds root and
 * never reads a byte from the network; an HTTP endpoint would be a
 * parser of what anyone sends in the one process that must not have one
 * (or one more sandboxed process to run). node_exporter already serves
 * HTTP, with its TLS and authentication, and its textfile collector
 * reads exactly this; the price is that a scrape sees counts up to one
 * interval old (the file says when it was written).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "master.h"

struct text {
	char *buf;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += n;
			return;
		}
		size_t cap = t->cap ? 2 * t->cap : 65536;
		char *b;

		if (n >= 0 && cap < t->len + n + 1)
			cap = t->len + n + 1;
		b = n >= 0 ? realloc(t->buf, cap) : NULL;

		if (!b) {
			t->oom = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return s[0] >= 0xf8 ? 0 : n;
}

/* A label value: backslash, quote and newline escaped as the format
 * says; other control bytes and bytes that are not UTF-8 become U+FFFD,
 * so that the output always parses. */
static void put_label(struct text *t, const char *v)
{
	for (const unsigned char *s = (const unsigned char *)v; *s;) {
		size_t n = *s < 0x80 ? 1 : utf8_len(s);

		if (*s == '\\' || *s == '"')
			put(t, "\\%c", *s);
		else if (*s == '\n')
			put(t, "\\n");
		else if (*s < 0x20 || *s == 0x7f || !n)
			put(t, "\xef\xbf\xbd");
		else
			put(t, "%.*s", (int)n, (const char *)s);
		s += n ? n : 1;
	}
}

static void header(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void series(struct text *t, const char *metric, const char *export,
		   const char *extra_key, const char *extra, uint64_t value)
{
	put(t, "%s{export=\"", metric);
	put_label(t, export);
	if (extra_key)
		put(t, "\",%s=\"%s", extra_key, extra);
	put(t, "\"} %llu\n", (unsigned long long)value);
}

static void per_command(struct text *t, const struct stats_table *st, const char *metric,
			size_t field)
{
	for (size_t i = 0; i < st->n; i++)
		for (int c = 0; c < STATS_NCMD; c++) {
			const uint64_t *k = (const uint64_t *)&st->v[i].c.cmd[c];

			series(t, metric, st->v[i].name, "command", stats_cmd_name(c), k[field]);
		}
}

static void histogram(struct text *t, const struct stats_table *st)
{
	const char *m = "cnbd_request_duration_seconds";

	header(t, m, "histogram",
	       "Time from reading a request to the end of its reply, by export and command.");
	for (size_t i = 0; i < st->n; i++) {
		for (int c = 0; c < STATS_NCMD; c++) {
			const struct stats_command *k = &st->v[i].c.cmd[c];
			uint64_t sum = 0;

			for (int b = 0; b < STATS_BUCKETS; b++) {
				sum += k->latency[b];
				put(t, "%s_bucket{export=\"", m);
				put_label(t, st->v[i].name);
				if (b < STATS_BUCKETS - 1)
					put(t, "\",command=\"%s\",le=\"%g\"} %llu\n", stats_cmd_name(c),
					    (double)(1ULL << b) / 1e6, (unsigned long long)sum);
				else
					put(t, "\",command=\"%s\",le=\"+Inf\"} %llu\n",
					    stats_cmd_name(c), (unsigned long long)sum);
			}
			put(t, "%s_sum{export=\"", m);
			put_label(t, st->v[i].name);
			put(t, "\",command=\"%s\"} %.9f\n", stats_cmd_name(c), (double)k->ns / 1e9);
			series(t, "cnbd_request_duration_seconds_count", st->v[i].name, "command",
			       stats_cmd_name(c), k->requests);
		}
	}
}

static void connections(struct text *t, const struct master *m)
{
	const struct stats_table *st = &m->stats;

	header(t, "cnbd_connections", "gauge", "Connections serving the export now.");
	for (size_t i = 0; i < st->n; i++)
		series(t, "cnbd_connections", st->v[i].name, NULL, NULL,
		       worker_list_leases(&m->workers, st->v[i].name));
	header(t, "cnbd_connections_total", "counter",
	       "Connections granted the export since the server started.");
	for (size_t i = 0; i < st->n; i++)
		series(t, "cnbd_connections_total", st->v[i].name, NULL, NULL,
		       st->v[i].connections);
}

char *master_stats_prometheus(struct master *m)
{
	struct text t = { 0 };
	const struct stats_table *st = &m->stats;

	master_stats_fold_all(m);
	header(&t, "cnbd_requests_total", "counter",
	       "NBD requests answered, by export and command.");
	per_command(&t, st, "cnbd_requests_total", offsetof(struct stats_command, requests) / 8);
	header(&t, "cnbd_request_bytes_total", "counter",
	       "Bytes the requests named (their length), by export and command.");
	per_command(&t, st, "cnbd_request_bytes_total", offsetof(struct stats_command, bytes) / 8);
	header(&t, "cnbd_request_errors_total", "counter",
	       "Requests answered with an error, by export and command.");
	per_command(&t, st, "cnbd_request_errors_total",
		    offsetof(struct stats_command, errors) / 8);
	header(&t, "cnbd_errors_total", "counter", "Error replies by NBD error, by export.");
	for (size_t i = 0; i < st->n; i++)
		for (int e = 0; e < STATS_NERR; e++)
			series(&t, "cnbd_errors_total", st->v[i].name, "error",
			       stats_error_name(e), st->v[i].c.errors[e]);
	histogram(&t, st);
	connections(&t, m);
	header(&t, "cnbd_stats_written_timestamp_seconds", "gauge",
	       "When the server wrote these figures (Unix time).");
	put(&t, "cnbd_stats_written_timestamp_seconds %lld\n", (long long)time(NULL));
	if (t.oom) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

/* dir/.NAME.tmp written whole, then renamed over dir/NAME, in the
 * directory the master opened (statistics_dir): the temporary file is
 * created O_EXCL | O_NOFOLLOW and the rename replaces whatever NAME is,
 * so a link someone put in that directory is never followed, as root,
 * into a file of theirs. 0, or -1 with errno. */
static int write_atomically(int dir, const char *name, const char *text)
{
	char tmp[NAME_MAX + 8];
	size_t len = strlen(text);
	ssize_t n;
	int fd, e;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	unlinkat(dir, tmp, 0);	/* left by a server that died mid-write */
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	if (n != (ssize_t)len || fchmod(fd, 0644) < 0) {
		e = n >= 0 && n != (ssize_t)len ? ENOSPC : errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || renameat(dir, tmp, dir, name) < 0) {
		e = errno;
		goto fail;
	}
	return 0;
fail:
	unlinkat(dir, tmp, 0);
	errno = e;
	return -1;
}

/* The directory statistics-file is in, opened once for the path the
 * configuration names (again after a reload that changes it). */
static int statistics_dir(struct master *m, const char **name)
{
	const char *path = m->cfg.statistics_file, *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	*name = slash + 1;
	if (m->stats_dir >= 0 && m->stats_dir_for && !strcmp(m->stats_dir_for, path))
		return m->stats_dir;
	if (m->stats_dir >= 0)
		close(m->stats_dir);
	free(m->stats_dir_for);
	m->stats_dir_for = NULL;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	m->stats_dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->stats_dir >= 0 && !(m->stats_dir_for = strdup(path))) {
		close(m->stats_dir);
		m->stats_dir = -1;
		errno = ENOMEM;
	}
	return m->stats_dir;
}

int master_stats_file_timeout(const struct master *m, int64_t now)
{
	int64_t due = m->stats_written_at + m->cfg.statistics_interval * 1000LL;

	if (!m->cfg.statistics_file)
		return -1;
	if (!m->stats_written_at || due <= now)
		return 0;
	return (int)(due - now);
}

void master_stats_file_tick(struct master *m)
{
	const char *name;
	char *text;
	int dir;

	if (master_stats_file_timeout(m, master_now_ms()) != 0)
		return;
	m->stats_written_at = master_now_ms();
	dir = statistics_dir(m, &name);
	text = dir >= 0 ? master_stats_prometheus(m) : NULL;
	if (dir < 0 || !text || write_atomically(dir, name, text) < 0)
		log_rated(&m->worker_log, LOG_WARNING, "statistics-file %s: %s",
			  m->cfg.statistics_file, dir >= 0 && !text ? "out of memory" : strerror(errno));
	free(text);
}
