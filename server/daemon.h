/* SPDX-License-Identifier: MIT */
/* Going to the background, and the pid file. */
#ifndef CNBD_SERVER_DAEMON_H
#define CNBD_SERVER_DAEMON_H

/* Forks; the parent exits 0 once the child has written pidfile (if not
 * NULL) and is ready, 1 if the child failed first. In the child: a new
 * session, cwd /, stdio on /dev/null, logging to syslog. 0, or -1 (logged). */
int daemonize(const char *pidfile);

/* Writes our pid into path: 0, or -1 (logged). */
int pidfile_write(const char *path);
void pidfile_remove(const char *path);

#endif
