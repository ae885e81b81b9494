/* SPDX-License-Identifier: MIT */
/*
 * Who a connection is (from the accepted socket, by the master), and
 * whether a pair of lists admits it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acl.h"

/* Supplementary groups asked for at first; SO_PEERGROUPS says when
 * there are more. */
#define GROUPS_FIRST	64

static int peer_groups(int fd, struct acl_peer *p)
{
	socklen_t len = GROUPS_FIRST * sizeof(gid_t);

	for (int tries = 0; tries < 2; tries++) {
		gid_t *g = malloc(len ? len : 1);

		if (!g)
			return -1;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			p->groups = g;
			p->ngroups = len / sizeof(gid_t);
			return 0;
		}
		free(g);
		if (errno != ERANGE)
			return 1;	/* not known: only the primary group counts */
	}
	return 1;
}

static void peer_unix(int fd, struct acl_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	p->family = AF_UNIX;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return;
	p->cred = true;
	p->uid = cred.uid;
	p->gid = cred.gid;
}

int acl_peer_of(int fd, struct acl_peer *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(p, 0, sizeof(*p));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	switch (ss.ss_family) {
	case AF_INET:
		p->family = AF_INET;
		memcpy(p->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		return 0;
	case AF_INET6: {
		const uint8_t *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;

		/* An IPv4 client of a dual-stack socket is an IPv4 client. */
		if (!memcmp(a, mapped, sizeof(mapped))) {
			p->family = AF_INET;
			memcpy(p->addr, a + 12, 4);
		} else {
			p->family = AF_INET6;
			memcpy(p->addr, a, 16);
		}
		return 0;
	}
	case AF_UNIX:
		peer_unix(fd, p);
		if (p->cred && peer_groups(fd, p) < 0) {
			memset(p, 0, sizeof(*p));
			return -1;
		}
		return 0;
	}
	return 0;
}

static bool net_match(const struct acl_entry *e, const uint8_t *addr)
{
	unsigned full = e->prefix / 8, rest = e->prefix % 8;
	uint8_t mask = (uint8_t)(0xff00 >> rest);

	if (memcmp(e->addr, addr, full))
		return false;
	return !rest || (e->addr[full] & mask) == (addr[full] & mask);
}

static bool in_group(const struct acl_peer *p, uint32_t gid)
{
	if (p->gid == gid)
		return true;
	for (size_t i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

static bool matches(const struct acl_entry *e, const struct acl_peer *p)
{
	switch (e->kind) {
	case ACL_IPV4:
		return p->family == AF_INET && net_match(e, p->addr);
	case ACL_IPV6:
		return p->family == AF_INET6 && net_match(e, p->addr);
	case ACL_UID:
		return p->family == AF_UNIX && p->cred && p->uid == e->id;
	case ACL_GID:
		return p->family == AF_UNIX && p->cred && in_group(p, e->id);
	case ACL_UNIX:
		return p->family == AF_UNIX;
	}
	return false;
}

static bool any_match(const struct acl_list *l, const struct acl_peer *p)
{
	for (size_t i = 0; i < l->n; i++)
		if (matches(&l->v[i], p))
			return true;
	return false;
}

bool acl_admits(const struct acl *a, const struct acl_peer *p)
{
	if (acl_is_empty(a))
		return true;
	if (!p->family)
		return false;	/* not known: a list that says anything refuses it */
	if (any_match(&a->deny, p))
		return false;
	return !a->allow.n || any_match(&a->allow, p);
}

int acl_peer_copy(struct acl_peer *dst, const struct acl_peer *src)
{
	*dst = *src;
	dst->groups = NULL;
	if (!src->ngroups)
		return 0;
	dst->groups = malloc(src->ngroups * sizeof(gid_t));
	if (!dst->groups) {
		memset(dst, 0, sizeof(*dst));
		return -1;
	}
	memcpy(dst->groups, src->groups, src->ngroups * sizeof(gid_t));
	return 0;
}

void acl_peer_free(struct acl_peer *p)
{
	free(p->groups);
	memset(p, 0, sizeof(*p));
}
