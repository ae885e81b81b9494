/* SPDX-License-Identifier: MIT */
#ifndef CNBD_NBDCTL_SERVER_STATS_H
#define CNBD_NBDCTL_SERVER_STATS_H

/* nbdctl server stats: argv[0] is "stats". The exit status. */
int nbdctl_server_stats(const char *socket, int argc, char **argv);

#endif
