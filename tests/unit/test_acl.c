/* SPDX-License-Identifier: MIT */
/* Access lists (server/acl.h): which peers a pair of lists admits, for
 * peers made by hand and learnt from real sockets (IPv4, IPv6, an IPv4
 * client of a dual-stack socket, Unix with SO_PEERCRED). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../server/acl.h"

static struct acl make(const char *allow, const char *deny)
{
	struct acl a = { 0 };
	char err[256];

	if (allow && acl_list_parse(&a.allow, allow, err, sizeof(err)) < 0)
		fail_msg("allow '%s': %s", allow, err);
	if (deny && acl_list_parse(&a.deny, deny, err, sizeof(err)) < 0)
		fail_msg("deny '%s': %s", deny, err);
	return a;
}

static struct acl_peer ip(const char *text)
{
	struct acl_peer p = { 0 };

	if (inet_pton(AF_INET, text, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, text, p.addr) == 1)
		p.family = AF_INET6;
	else
		fail_msg("bad address %s", text);
	return p;
}

static struct acl_peer unix_peer(uid_t uid, gid_t gid, gid_t *groups, size_t n)
{
	return (struct acl_peer){ .family = AF_UNIX, .cred = true, .uid = uid, .gid = gid,
				  .groups = groups, .ngroups = n };
}

static bool admits(const char *allow, const char *deny, const struct acl_peer *p)
{
	struct acl a = make(allow, deny);
	bool ok = acl_admits(&a, p);

	acl_free(&a);
	return ok;
}

static void test_networks(void **state)
{
	struct acl_peer a = ip("10.1.2.3"), b = ip("192.168.7.1"), v6 = ip("fd00::5");
	struct acl_peer lo6 = ip("::1");

	(void)state;
	assert_true(admits(NULL, NULL, &a));
	assert_true(admits("10.0.0.0/8", NULL, &a));
	assert_false(admits("10.0.0.0/8", NULL, &b));
	assert_true(admits("10.1.2.3", NULL, &a));
	assert_false(admits("10.1.2.4", NULL, &a));
	/* Prefixes that do not end on a byte. */
	assert_true(admits("10.1.2.0/30", NULL, &a));
	assert_false(admits("10.1.2.4/30", NULL, &a));
	assert_true(admits("10.0.0.0/9", NULL, &a));
	assert_false(admits("10.128.0.0/9", NULL, &a));
	assert_true(admits("0.0.0.0/0", NULL, &b));
	/* Families do not mix. */
	assert_false(admits("::/0", NULL, &a));
	assert_false(admits("0.0.0.0/0", NULL, &v6));
	assert_true(admits("fd00::/8", NULL, &v6));
	assert_true(admits("fd00::4/127", NULL, &v6));
	assert_false(admits("fd00::/8", NULL, &lo6));
	assert_true(admits("::1", NULL, &lo6));
	assert_true(admits("127.0.0.1, ::1", NULL, &lo6));
	/* Deny wins, in any order; a deny list alone admits the rest. */
	assert_false(admits("10.0.0.0/8", "10.1.0.0/16", &a));
	assert_true(admits("10.0.0.0/8", "10.2.0.0/16", &a));
	assert_false(admits(NULL, "10.1.2.3", &a));
	assert_true(admits(NULL, "10.1.2.3", &b));
	/* An address entry never admits a Unix client. */
	struct acl_peer u = unix_peer(1000, 1000, NULL, 0);
	assert_false(admits("0.0.0.0/0, ::/0", NULL, &u));
}

static void test_users_groups(void **state)
{
	gid_t groups[] = { 6, 24, 100 };
	struct acl_peer u = unix_peer(1000, 1000, groups, 3);
	struct acl_peer nocred = { .family = AF_UNIX };
	struct acl_peer tcp = ip("127.0.0.1");
	struct acl_peer unknown = { 0 };

	(void)state;
	assert_true(admits("uid:1000", NULL, &u));
	assert_false(admits("uid:0", NULL, &u));
	assert_true(admits("gid:1000", NULL, &u));	/* the primary group */
	assert_true(admits("gid:24", NULL, &u));	/* a supplementary one */
	assert_false(admits("gid:25", NULL, &u));
	assert_true(admits("user:root, gid:100", NULL, &u));
	assert_false(admits("uid:0", NULL, &u));
	assert_false(admits("unix", "gid:6", &u));
	assert_true(admits("unix", NULL, &u));
	assert_true(admits("unix", NULL, &nocred));
	assert_false(admits("uid:1000", NULL, &nocred));
	assert_false(admits("uid:1000, unix", NULL, &tcp));
	assert_false(admits("gid:0", NULL, &tcp));
	/* Who it is cannot be learnt: any list refuses it, none admits it. */
	assert_true(admits(NULL, NULL, &unknown));
	assert_false(admits(NULL, "10.9.9.9", &unknown));
	assert_false(admits("0.0.0.0/0", NULL, &unknown));
}

static void test_equal_and_copy(void **state)
{
	struct acl a = make("10.0.0.0/8, uid:0", "10.0.0.1"), b = make("10.0.0.0/8,uid:0", "10.0.0.1");
	struct acl c = make("10.0.0.0/8", "10.0.0.1"), none = { 0 };
	gid_t groups[] = { 5, 6 };
	struct acl_peer u = unix_peer(7, 8, groups, 2), copy;

	(void)state;
	assert_true(acl_equal(&a, &b));
	assert_false(acl_equal(&a, &c));
	assert_false(acl_equal(&a, &none));
	assert_true(acl_equal(&none, &none));
	assert_int_equal(acl_peer_copy(&copy, &u), 0);
	assert_ptr_not_equal(copy.groups, u.groups);
	assert_int_equal(copy.ngroups, 2);
	assert_int_equal(copy.groups[1], 6);
	assert_int_equal(copy.uid, 7);
	acl_peer_free(&copy);
	acl_free(&a);
	acl_free(&b);
	acl_free(&c);
}

/* A connected pair over the loopback of a family: the accepted end is
 * what the master sees. bind_family is the listener's. */
static int accepted(int bind_family, int connect_family, const char *to)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	int l = socket(bind_family, SOCK_STREAM, 0), c, a, off = 0;

	assert_true(l >= 0);
	if (bind_family == AF_INET6)
		setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	ss.ss_family = bind_family;
	assert_int_equal(bind(l, (struct sockaddr *)&ss, bind_family == AF_INET6 ?
			      sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	c = socket(connect_family, SOCK_STREAM, 0);
	if (connect_family == AF_INET) {
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_port = ((struct sockaddr_in6 *)&ss)->sin6_port };
		if (bind_family == AF_INET)
			in.sin_port = ((struct sockaddr_in *)&ss)->sin_port;
		inet_pton(AF_INET, to, &in.sin_addr);
		assert_int_equal(connect(c, (struct sockaddr *)&in, sizeof(in)), 0);
	} else {
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
					    .sin6_port = ((struct sockaddr_in6 *)&ss)->sin6_port };
		inet_pton(AF_INET6, to, &in6.sin6_addr);
		assert_int_equal(connect(c, (struct sockaddr *)&in6, sizeof(in6)), 0);
	}
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	close(l);
	close(c);
	return a;
}

static void test_real_sockets(void **state)
{
	struct acl_peer p;
	int fd, sv[2];

	(void)state;
	fd = accepted(AF_INET, AF_INET, "127.0.0.1");
	assert_int_equal(acl_peer_of(fd, &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_true(admits("127.0.0.0/8", NULL, &p));
	close(fd);

	fd = accepted(AF_INET6, AF_INET6, "::1");
	assert_int_equal(acl_peer_of(fd, &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_true(admits("::1", NULL, &p));
	assert_false(admits("127.0.0.1", NULL, &p));
	close(fd);

	/* An IPv4 client of a dual-stack socket: ::ffff:127.0.0.1 is 127.0.0.1. */
	fd = accepted(AF_INET6, AF_INET, "127.0.0.1");
	assert_int_equal(acl_peer_of(fd, &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_true(admits("127.0.0.1", NULL, &p));
	assert_false(admits(NULL, "127.0.0.1", &p));
	close(fd);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(acl_peer_of(sv[0], &p), 0);
	assert_int_equal(p.family, AF_UNIX);
	assert_true(p.cred);
	assert_int_equal(p.uid, getuid());
	assert_int_equal(p.gid, getgid());
	{
		char self[32];

		snprintf(self, sizeof(self), "uid:%u", (unsigned)getuid());
		assert_true(admits(self, NULL, &p));
		snprintf(self, sizeof(self), "gid:%u", (unsigned)getgid());
		assert_true(admits(self, NULL, &p));
		assert_false(admits("uid:4000000", NULL, &p));
	}
	acl_peer_free(&p);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_users_groups),
		cmocka_unit_test(test_equal_and_copy),
		cmocka_unit_test(test_real_sockets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
