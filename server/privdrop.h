/* SPDX-License-Identifier: MIT */
/* The worker's privilege drop: an unprivileged user, no supplementary
 * groups, no capabilities (bounding set included), no_new_privs. */
#ifndef CNBD_SERVER_PRIVDROP_H
#define CNBD_SERVER_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

struct privdrop_target {
	bool enabled;		/* false when the server does not run as root */
	uid_t uid;
	gid_t gid;
	char user[64];
};

/* In the master, at start: looks the user up once, so that a worker never
 * reads /etc/passwd. An implicit default user that does not exist falls
 * back to "nobody" with a warning; an explicit one is an error. */
int privdrop_resolve(const char *user, bool user_given, const char *fallback,
		     struct privdrop_target *t, char *err, size_t errlen);

/* In a worker, before it reads from the network. 0 only when the drop
 * happened and was verified; -1 (logged) otherwise: the caller must then
 * exit without serving. */
int privdrop_apply(const struct privdrop_target *t);

#endif
