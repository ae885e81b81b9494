/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "nbdctl.h"
#include "nbdctl_progress.h"

/* Quick waits draw nothing. */
#define SHOW_AFTER_MS	700
#define FRAME_MS	125
#define REFRESH_MS	1000

struct progress {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool shown;
	char *label;			/* escaped */
	progress_refresh_fn refresh;
	void *opaque;
	struct timespec start;
};

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static size_t terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col < 20)
		return 80;
	return ws.ws_col;
}

/* One frame, in one write: back to the start of the line, the text cut
 * one short of the width (a full line would wrap), erase the rest. */
static void draw(struct progress *p, unsigned frame, const char *detail)
{
	static const char spinner[] = "|/-\\";
	char text[1024], line[1100];
	size_t width = terminal_width() - 1;
	int n;

	snprintf(text, sizeof(text), "%c %s: %s%s%ld s", spinner[frame % 4], p->label,
		 detail, detail[0] ? ", " : "", elapsed_ms(&p->start) / 1000);
	if (strlen(text) > width && width < sizeof(text))
		text[width] = '\0';
	n = snprintf(line, sizeof(line), "\r%s\033[K", text);
	if (write(STDERR_FILENO, line, n) < 0)
		return;
	p->shown = true;
}

/* Sleeps ms, or until stopped: false once stopped. */
static bool wait_frame(struct progress *p, long ms)
{
	struct timespec until;
	bool go_on;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += ms * 1000000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	pthread_mutex_lock(&p->lock);
	while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &until) == 0)
		;
	go_on = !p->stop;
	pthread_mutex_unlock(&p->lock);
	return go_on;
}

static void *run(void *arg)
{
	struct progress *p = arg;
	char raw[512] = "", *detail = NULL;
	long refreshed = -REFRESH_MS;
	unsigned frame = 0;

	if (!wait_frame(p, SHOW_AFTER_MS))
		return NULL;
	do {
		long now = elapsed_ms(&p->start);

		if (p->refresh && now - refreshed >= REFRESH_MS) {
			p->refresh(p->opaque, raw, sizeof(raw));
			free(detail);
			/* The detail may quote a server: escaped like every
			 * other output of nbdctl. */
			detail = nbdctl_escape(raw);
			refreshed = now;
		}
		draw(p, frame++, detail ? detail : "");
	} while (wait_frame(p, FRAME_MS));
	free(detail);
	return NULL;
}

struct progress *progress_start(const char *label, progress_refresh_fn refresh,
				void *opaque)
{
	struct progress *p;

	if (!isatty(STDERR_FILENO) || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->label = nbdctl_escape(label);
	p->refresh = refresh;
	p->opaque = opaque;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (!p->label || pthread_create(&p->thread, NULL, run, p)) {
		free(p->label);
		free(p);
		return NULL;
	}
	return p;
}

void progress_stop(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	if (p->shown && write(STDERR_FILENO, "\r\033[K", 4) < 0) {
		/* the terminal is gone */
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->label);
	free(p);
}
