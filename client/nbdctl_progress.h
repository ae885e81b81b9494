/* SPDX-License-Identifier: MIT */
/*
 * A status line on stderr while nbdctl waits, when stderr is a
 * terminal: "| attaching nbd://host/disk: connecting, 4 s: last error:
 * connection refused". It appears only once the wait has lasted a
 * moment, is redrawn in place (cut to the terminal's width) and is
 * cleared when the wait ends. A thread draws it; every second it calls
 * refresh (on that thread) for the text after the label.
 */
#ifndef CNBD_NBDCTL_PROGRESS_H
#define CNBD_NBDCTL_PROGRESS_H

#include <stddef.h>

typedef void (*progress_refresh_fn)(void *opaque, char *detail, size_t len);

struct progress;

/* NULL (and nothing drawn) when stderr is not a terminal. */
struct progress *progress_start(const char *label, progress_refresh_fn refresh,
				void *opaque);
/* Clears the line and frees p (NULL is fine). */
void progress_stop(struct progress *p);

#endif
