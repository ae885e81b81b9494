/* SPDX-License-Identifier: MIT */
/*
 * The allow and deny values (acl.h): comma-separated entries, each
 * checked on its own, so that a typo is a configuration error with its
 * line rather than a list that admits more, or less, than meant.
 */
#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "common/parse.h"

#define ENTRY_MAX	128

static const char forms[] =
	"an IPv4 or IPv6 address or network (10.0.0.0/8, fd00::/8), uid:N, gid:N, user:NAME, group:NAME or unix";

/* Host bits set past the prefix mean the operator wrote something else
 * than the network the entry matches: refuse instead of guessing. */
static int check_host_bits(const struct acl_entry *e, size_t len)
{
	for (size_t bit = e->prefix; bit < 8 * len; bit++)
		if (e->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

static int parse_net(const char *s, struct acl_entry *e, char *why, size_t whylen)
{
	char addr[ENTRY_MAX];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix;
	size_t bytes;

	if (len >= sizeof(addr))
		return -1;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, e->addr) == 1) {
		e->kind = ACL_IPV4;
		bytes = 4;
	} else if (inet_pton(AF_INET6, addr, e->addr) == 1) {
		e->kind = ACL_IPV6;
		bytes = 16;
	} else {
		return -1;
	}
	prefix = 8 * bytes;
	if (slash && parse_uint(slash + 1, 8 * bytes, &prefix) < 0) {
		snprintf(why, whylen, "the prefix length must be from 0 to %zu", 8 * bytes);
		return -2;
	}
	e->prefix = (uint8_t)prefix;
	if (check_host_bits(e, bytes) < 0) {
		snprintf(why, whylen, "bits are set past the /%u prefix", e->prefix);
		return -2;
	}
	return 0;
}

static int parse_id(const char *s, struct acl_entry *e, char *why, size_t whylen)
{
	uint64_t id;

	if (!strncmp(s, "uid:", 4) || !strncmp(s, "gid:", 4)) {
		e->kind = s[0] == 'u' ? ACL_UID : ACL_GID;
		if (parse_uint(s + 4, UINT32_MAX - 1, &id) < 0) {
			snprintf(why, whylen, "not a number");
			return -2;
		}
		e->id = (uint32_t)id;
		return 0;
	}
	if (!strncmp(s, "user:", 5)) {
		struct passwd *pw = getpwnam(s + 5);

		if (!pw) {
			snprintf(why, whylen, "no such user");
			return -2;
		}
		e->kind = ACL_UID;
		e->id = pw->pw_uid;
		return 0;
	}
	if (!strncmp(s, "group:", 6)) {
		struct group *gr = getgrnam(s + 6);

		if (!gr) {
			snprintf(why, whylen, "no such group");
			return -2;
		}
		e->kind = ACL_GID;
		e->id = gr->gr_gid;
		return 0;
	}
	return -1;
}

/* One entry, without the blanks around it. */
static int parse_entry(const char *s, struct acl_entry *e, char *err, size_t errlen)
{
	char why[128] = "";
	int rc;

	memset(e, 0, sizeof(*e));
	if (!strcmp(s, "unix")) {
		e->kind = ACL_UNIX;
		return 0;
	}
	rc = strchr(s, ':') && strchr(s, ':') == strrchr(s, ':') ?
	     parse_id(s, e, why, sizeof(why)) : parse_net(s, e, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (rc == -2)
		snprintf(err, errlen, "'%s': %s", s, why);
	else
		snprintf(err, errlen, "'%s' is not %s", s, forms);
	return -1;
}

static int append(struct acl_list *list, const struct acl_entry *e)
{
	struct acl_entry *v = realloc(list->v, (list->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	list->v = v;
	v[list->n++] = *e;
	return 0;
}

int acl_list_parse(struct acl_list *list, const char *value, char *err, size_t errlen)
{
	const char *p = value;

	for (;;) {
		char entry[ENTRY_MAX];
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct acl_entry e;

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!len) {
			snprintf(err, errlen, "an empty entry (entries are separated by commas)");
			return -1;
		}
		if (len >= sizeof(entry)) {
			snprintf(err, errlen, "an entry of %zu characters is not %s", len, forms);
			return -1;
		}
		memcpy(entry, p, len);
		entry[len] = '\0';
		if (parse_entry(entry, &e, err, errlen) < 0)
			return -1;
		if (append(list, &e) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (!end)
			return 0;
		p = end + 1;
	}
}

bool acl_is_empty(const struct acl *a)
{
	return !a->allow.n && !a->deny.n;
}

static bool list_equal(const struct acl_list *a, const struct acl_list *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

bool acl_equal(const struct acl *a, const struct acl *b)
{
	return list_equal(&a->allow, &b->allow) && list_equal(&a->deny, &b->deny);
}

void acl_free(struct acl *a)
{
	free(a->allow.v);
	free(a->deny.v);
	memset(a, 0, sizeof(*a));
}
