/* SPDX-License-Identifier: MIT */
/* Logging: one line per event, to stderr (journald captures it under
 * systemd) or to syslog when daemonized. When stderr is the journal the
 * lines are "<N>message", N the syslog priority (sd-daemon(3)). */
#ifndef CNBD_LOG_H
#define CNBD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

void log_init(const char *ident, bool to_syslog, int verbosity);
void log_set_prefix(const char *prefix);	/* e.g. "worker 1234 127.0.0.1:5555" */
bool log_debug_enabled(void);
bool log_syslog_enabled(void);
/* Whether stderr is the stream JOURNAL_STREAM names; log_init (without
 * syslog) turns the "<N>" prefix on when it is. A program can ask for it
 * (a worker whose parent's stderr was the journal) or turn it off. */
bool log_stderr_is_journal(void);
void log_set_journal(bool on);
bool log_journal_enabled(void);
void log_msg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cnbd_error() also keeps its message per thread, so that whoever called
 * a backend can pass the backend's own reason on (a control reply, say). */
void log_clear_last_error(void);
const char *log_last_error(void);	/* "" when none since the clear */

/* A string a peer supplied (export name, PSK identity, ...), fit for a
 * log line: printable ASCII kept, "\n" for a newline, "\xNN" for every
 * other byte and the backslash; cut with "..." to fit outlen (use
 * LOG_ESCAPE_SIZE). Returns out. lib/common/log_escape.c. */
#define LOG_ESCAPE_SIZE	256
const char *log_escape(const char *in, char *out, size_t outlen);
/* The last line of defence, applied by log_msg to every whole line: only
 * control bytes (a newline, ESC, ...) are escaped, so text that callers
 * escaped already comes through unchanged. */
const char *log_escape_line(const char *in, char *out, size_t outlen);

#define log_error(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
