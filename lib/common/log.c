/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnbd/backend.h"
#include "common/log.h"

static const char *log_ident = "cnbd";
static bool log_to_syslog;
static bool log_journal;	/* "<N>message": journald reads the priority */
static int log_verbosity;	/* 0: info and up; 1: debug */
static char log_prefix[128];
static __thread char last_error[512];

void log_clear_last_error(void)
{
	last_error[0] = '\0';
}

const char *log_last_error(void)
{
	return last_error;
}

void log_init(const char *ident, bool to_syslog, int verbosity)
{
	log_ident = ident;
	log_to_syslog = to_syslog;
	log_verbosity = verbosity;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else
		log_journal = log_stderr_is_journal();
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected to stderr; a stderr redirected since is no longer it. */
bool log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!v || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_set_journal(bool on)
{
	log_journal = on;
}

bool log_journal_enabled(void)
{
	return log_journal && !log_to_syslog;
}

void log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

bool log_debug_enabled(void)
{
	return log_verbosity > 0;
}

bool log_syslog_enabled(void)
{
	return log_to_syslog;
}

static const char *level_name(int priority)
{
	switch (priority) {
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_DEBUG: return "debug";
	default: return "info";
	}
}

static void log_vmsg(int priority, const char *fmt, va_list ap)
{
	char raw[1024], line[1024];
	int saved_errno = errno;

	if (priority == LOG_DEBUG && !log_debug_enabled())
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* One event, one line, whatever a caller forgot to escape. */
	log_escape_line(raw, line, sizeof(line));
	if (log_to_syslog) {
		syslog(priority, "%s%s%s", log_prefix, log_prefix[0] ? ": " : "", line);
	} else {
		/* One write per line so that lines from workers never interleave.
		 * The journal records the program and pid itself, and the
		 * priority from the "<N>" (sd-daemon(3)). */
		char out[1300];
		int n = log_journal_enabled() ?
			snprintf(out, sizeof(out), "<%d>%s%s%s\n", priority, log_prefix,
				 log_prefix[0] ? ": " : "", line) :
			snprintf(out, sizeof(out), "%s[%d]: %s: %s%s%s\n", log_ident,
				 (int)getpid(), level_name(priority), log_prefix,
				 log_prefix[0] ? ": " : "", line);
		if (n > (int)sizeof(out))
			n = sizeof(out);
		if (write(STDERR_FILENO, out, n) < 0) {
			/* nowhere left to report it */
		}
	}
	errno = saved_errno;
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, fmt, ap);
	va_end(ap);
}

/* Host services for backends (see cnbd/backend.h). */
void cnbd_error(const char *fmt, ...)
{
	va_list ap;
	int saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	log_msg(LOG_ERR, "%s", last_error);
	errno = saved_errno;
}

void cnbd_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}
