/* SPDX-License-Identifier: MIT */
/* NBD URI parsing: what is accepted, what it means, and that everything
 * else is refused with a reason that names the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "clientlib/uri.h"

static struct nbd_uri uri;
static char err[512];

static void ok(const char *text)
{
	err[0] = '\0';
	if (uri_parse(text, &uri, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
}

/* Refused, with a reason containing want. */
static void bad(const char *text, const char *want)
{
	err[0] = '\0';
	if (uri_parse(text, &uri, err, sizeof(err)) == 0)
		fail_msg("'%s' accepted", text ? text : "(null)");
	if (!strstr(err, want))
		fail_msg("'%s': reason '%s' lacks '%s'", text ? text : "(null)", err, want);
}

static void test_tcp(void **state)
{
	(void)state;
	ok("nbd://storage.example/disk");
	assert_int_equal(uri.transport, URI_TCP);
	assert_string_equal(uri.host, "storage.example");
	assert_string_equal(uri.port, "10809");
	assert_string_equal(uri.export_name, "disk");

	ok("nbd://10.0.0.1:1234/a/b");
	assert_string_equal(uri.host, "10.0.0.1");
	assert_string_equal(uri.port, "1234");
	assert_string_equal(uri.export_name, "a/b");

	ok("NBD://host");
	assert_string_equal(uri.export_name, "");
	ok("nbd://host/");
	assert_string_equal(uri.export_name, "");
	ok("nbd://host//disk");
	assert_string_equal(uri.export_name, "/disk");
	ok("nbd://host/hello%20world%2Fx");
	assert_string_equal(uri.export_name, "hello world/x");
	ok("nbd://host:65535/x:y@z");
	assert_string_equal(uri.port, "65535");
	assert_string_equal(uri.export_name, "x:y@z");
}

static void test_ipv6(void **state)
{
	(void)state;
	ok("nbd://[::1]/disk");
	assert_string_equal(uri.host, "::1");
	assert_string_equal(uri.port, "10809");
	ok("nbd://[::1]:10810/disk");
	assert_string_equal(uri.host, "::1");
	assert_string_equal(uri.port, "10810");
	ok("nbd://[fe80::1%25eth0]:99/");
	assert_string_equal(uri.host, "fe80::1%eth0");
	ok("nbd://[2001:db8::7]");
	assert_string_equal(uri.host, "2001:db8::7");

	bad("nbd://[::1/disk", "closing ']'");
	bad("nbd://[nothost]/disk", "not an IPv6 address");
	bad("nbd://[]/disk", "not an IPv6 address");
	bad("nbd://[::1]x/disk", "after the IPv6 address");
	bad("nbd://[fe80::1%eth0]/", "%25zone");
	bad("nbd://::1/disk", "brackets");
}

static void test_unix(void **state)
{
	(void)state;
	ok("nbd+unix:///disk?socket=/run/nbd.sock");
	assert_int_equal(uri.transport, URI_UNIX);
	assert_string_equal(uri.socket, "/run/nbd.sock");
	assert_int_equal(uri.socket_len, strlen("/run/nbd.sock"));
	assert_string_equal(uri.export_name, "disk");

	ok("nbd+unix://?socket=relative.sock");
	assert_string_equal(uri.export_name, "");
	assert_string_equal(uri.socket, "relative.sock");

	ok("nbd+unix:///?socket=/tmp/a%20b");
	assert_string_equal(uri.socket, "/tmp/a b");

	/* An abstract socket: a leading NUL byte, length kept. */
	ok("nbd+unix:///?socket=%00/abstract");
	assert_int_equal(uri.socket_len, 10);
	assert_int_equal(uri.socket[0], '\0');
	assert_memory_equal(uri.socket + 1, "/abstract", 9);

	bad("nbd+unix:///disk", "socket=");
	bad("nbd+unix://host/disk?socket=/s", "take no host");
	bad("nbd+unix:///disk?socket=", "empty socket");
	bad("nbd+unix:///d?socket=/a&socket=/b", "twice");
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath));
	longpath[sizeof(longpath) - 1] = '\0';
	char text[300];
	snprintf(text, sizeof(text), "nbd+unix:///?socket=/%s", longpath);
	bad(text, "longer than");
}

static void test_refused(void **state)
{
	(void)state;
	bad(NULL, "empty URI");
	bad("", "empty URI");
	bad("disk", "not an NBD URI");
	bad("http://host/disk", "not an NBD URI");
	bad("nbd:host/disk", "'//'");
	bad("nbds://host/disk", "TLS");
	bad("nbds+unix:///d?socket=/s", "TLS");
	bad("nbd+vsock://1:2/", "not supported");
	bad("nbd://", "no host");
	bad("nbd:///disk", "no host");
	bad("nbd://:10809/disk", "no host");
	bad("nbd://user@host/disk", "user name");
	bad("nbd://host:/disk", "empty port");
	bad("nbd://host:0/disk", "out of range");
	bad("nbd://host:65536/disk", "out of range");
	bad("nbd://host:123456/disk", "out of range");
	bad("nbd://host:12a/disk", "not a number");
	bad("nbd://host:-1/disk", "not a number");
	bad("nbd://ho st/disk", "not allowed in a host");
	bad("nbd://ho%41st/disk", "not allowed in a host");
	bad("nbd://host/disk#frag", "fragment");
	bad("nbd://host/hello world", "' ' in the export name must be percent-encoded");
	bad("nbd://host/a%2", "bad percent escape");
	bad("nbd://host/a%zz", "bad percent escape");
	bad("nbd://host/a%00b", "NUL");
	bad("nbd://host/d?socket=/s", "nbd+unix");
	bad("nbd://host/d?tls-type=x509", "TLS");
	bad("nbd://host/d?foo=bar", "unknown query parameter 'foo'");
	bad("nbd://host/d?", "empty query parameter");
	bad("nbd://host/d?foo", "no '=value'");
	bad("nbd+unix:///d?socket=/s&", "empty query parameter");
}

static void test_limits(void **state)
{
	static char text[3 * NBD_MAX_STRING + 64];
	size_t n;

	(void)state;
	/* An export name of exactly NBD_MAX_STRING bytes is fine ... */
	n = snprintf(text, sizeof(text), "nbd://h/");
	memset(text + n, 'x', NBD_MAX_STRING);
	text[n + NBD_MAX_STRING] = '\0';
	ok(text);
	assert_int_equal(strlen(uri.export_name), NBD_MAX_STRING);
	/* ... one more is not. */
	strcat(text, "x");
	bad(text, "longer than 4096");

	n = snprintf(text, sizeof(text), "nbd://");
	memset(text + n, 'h', 256);
	strcpy(text + n + 256, "/d");
	bad(text, "longer than 255");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
