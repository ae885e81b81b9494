/* SPDX-License-Identifier: MIT */
/*
 * nbdctl's commands. Each lives in a file of its own and is one entry in
 * the table in nbdctl.c. The server's commands ("nbdctl server ...") come
 * from the server's side of the tree as nbdctl_server_command; nbdctl
 * links without them (the symbol is weak) and then says so.
 */
#ifndef CNBD_NBDCTL_H
#define CNBD_NBDCTL_H

#include <stdbool.h>
#include <stddef.h>

struct nbdctl_options {
	const char *socket;	/* the client daemon's control socket */
};

struct nbdctl_command {
	const char *name;
	const char *usage;	/* arguments, after the command's name */
	const char *summary;	/* one line for the help text */
	/* argv[0] is the command's name. Returns the exit status:
	 * 0 success, 1 failure, 2 usage error. */
	int (*run)(int argc, char **argv, const struct nbdctl_options *opts);
};

extern const struct nbdctl_command nbdctl_attach_command;
extern const struct nbdctl_command nbdctl_detach_command;
extern const struct nbdctl_command nbdctl_list_command;
extern const struct nbdctl_command nbdctl_exports_command;
extern const struct nbdctl_command nbdctl_reload_command;
extern const struct nbdctl_command nbdctl_wait_command;
extern const struct nbdctl_command nbdctl_udev_add_command;
extern const struct nbdctl_command nbdctl_udev_name_command;
extern const struct nbdctl_command nbdctl_server_command __attribute__((weak));

/* Sends request to the client daemon; reply lines go to fn. On failure
 * prints "nbdctl NAME: reason" and returns 1; 0 on success. */
int nbdctl_daemon_call(const struct nbdctl_options *opts, const char *name,
		       const char *request, int timeout,
		       int (*fn)(void *opaque, const char *line), void *opaque);

/* nbdctl_wait.c: the daemon's list line of the last device match
 * picks (malloc'd), or NULL with the reason in err ("no such device"
 * when none matched). */
typedef bool (*nbdctl_match_fn)(const char *line, void *arg);
char *nbdctl_find_device(const struct nbdctl_options *opts, nbdctl_match_fn match, void *arg,
			 char *err, size_t errlen);
/* "nbd0 reconnecting: last error: REASON" of a list line (unescaped). */
void nbdctl_describe_device(const char *line, char *out, size_t len);

/* "usage: nbdctl NAME USAGE" on stderr; returns 2. */
int nbdctl_usage(const struct nbdctl_command *cmd);
/* Prints s with control characters (C0, DEL, C1), backslashes and bytes
 * that are not UTF-8 as \xHH, so that a name from a server cannot forge
 * lines or terminal escapes. */
void nbdctl_print_escaped(const char *s);
/* The same as a malloc'd string (NULL when out of memory). */
char *nbdctl_escape(const char *s);
/* A reply line "key=value" (the value escaped on the wire) printed as
 * "key: value"; a control_line_fn (opaque unused). */
int nbdctl_print_info(void *opaque, const char *line);

#endif
