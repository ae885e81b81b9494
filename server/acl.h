/* SPDX-License-Identifier: MIT */
/*
 * Access control: the allow and deny lists of [server] and of each
 * export, and who a connection is.
 *
 * An entry names an IPv4 or IPv6 address or network (CIDR), or, for
 * Unix-socket clients, a user or group as SO_PEERCRED and SO_PEERGROUPS
 * tell them, or every Unix-socket client:
 *
 *     allow = 10.0.0.0/8, 192.168.1.7, ::1, fd00::/8
 *     allow = uid:0, user:backup, gid:6, group:disk, unix
 *     deny  = 10.0.0.66
 *
 * A peer is refused when an entry of deny matches it, or when allow has
 * entries and none matches; deny wins, and order does not matter. A
 * client whose identity cannot be learnt is refused by any list that is
 * not empty. The identity is the master's, learnt from the socket it
 * accepted: a worker never says who its client is.
 */
#ifndef CNBD_SERVER_ACL_H
#define CNBD_SERVER_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum acl_kind {
	ACL_IPV4,
	ACL_IPV6,
	ACL_UID,
	ACL_GID,	/* the primary group or a supplementary one */
	ACL_UNIX,	/* any Unix-socket client */
};

struct acl_entry {
	uint8_t kind;		/* enum acl_kind */
	uint8_t prefix;		/* network bits: 0-32 or 0-128 */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 */
	uint32_t id;		/* uid or gid */
};

struct acl_list {
	struct acl_entry *v;
	size_t n;
};

struct acl {
	struct acl_list allow, deny;
};

/* Who the other end of an accepted socket is. */
struct acl_peer {
	int family;		/* AF_INET (also for an IPv4-mapped IPv6 peer),
				 * AF_INET6, AF_UNIX; 0: not known */
	uint8_t addr[16];
	bool cred;		/* uid, gid and groups known (Unix) */
	uid_t uid;
	gid_t gid;
	gid_t *groups;		/* supplementary groups (SO_PEERGROUPS) */
	size_t ngroups;
};

/* acl_parse.c: appends the comma-separated entries of value to list
 * (user and group names are looked up now). 0, or -1 with the reason in
 * err, naming the entry. */
int acl_list_parse(struct acl_list *list, const char *value, char *err, size_t errlen);
bool acl_is_empty(const struct acl *a);
bool acl_equal(const struct acl *a, const struct acl *b);
void acl_free(struct acl *a);

/* acl_peer.c */
/* The identity of fd's peer; p->family 0 when it cannot be learnt. 0,
 * or -1 when out of memory (p is then empty). */
int acl_peer_of(int fd, struct acl_peer *p);
/* Whether the lists admit p. */
bool acl_admits(const struct acl *a, const struct acl_peer *p);
/* A deep copy; 0, or -1 when out of memory (dst is then empty). */
int acl_peer_copy(struct acl_peer *dst, const struct acl_peer *src);
void acl_peer_free(struct acl_peer *p);

#endif
