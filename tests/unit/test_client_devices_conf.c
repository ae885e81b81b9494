/* SPDX-License-Identifier: MIT */
/* The client daemon's devices file: defaults, every key, and errors that
 * name the file and the right line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices_conf.h"

static struct devices_conf conf;
static char err[512];

static void good(const char *text)
{
	err[0] = '\0';
	if (devices_conf_parse("devices.conf", text, &conf, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
}

static void bad(const char *text, const char *want)
{
	err[0] = '\0';
	if (devices_conf_parse("devices.conf", text, &conf, err, sizeof(err)) == 0)
		fail_msg("accepted:\n%s", text);
	if (strcmp(err, want) && !strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_int_equal(conf.n, 0);
}

static void test_full(void **state)
{
	(void)state;
	good("; the example\n"
	     "[nbd0]\n"
	     "uri = nbd://storage.example/disk\n"
	     "connections = 2\n"
	     "readonly = false\n"
	     "timeout = 30\n"
	     "\n"
	     "[any]\n"
	     "uri = nbd+unix:///scratch?socket=/run/s.sock\n"
	     "readonly = yes\n"
	     "timeout = 0\n"
	     "[any-backup]\n"
	     "uri = nbd://[::1]:10810/b\n");
	assert_int_equal(conf.n, 3);
	assert_string_equal(conf.v[0].device, "nbd0");
	assert_string_equal(conf.v[0].uri, "nbd://storage.example/disk");
	assert_int_equal(conf.v[0].connections, 2);
	assert_false(conf.v[0].readonly);
	assert_int_equal(conf.v[0].timeout, 30);
	assert_int_equal(conf.v[0].line, 2);
	assert_string_equal(conf.v[1].device, "any");
	assert_true(conf.v[1].readonly);
	assert_int_equal(conf.v[1].timeout, 0);
	assert_int_equal(conf.v[1].connections, 1);
	assert_int_equal(conf.v[1].line, 8);
	assert_string_equal(conf.v[2].device, "any-backup");
	assert_int_equal(conf.v[2].timeout, DEVICE_DEFAULT_TIMEOUT);
	assert_int_equal(conf.v[2].line, 12);
	devices_conf_free(&conf);

	good("");
	assert_int_equal(conf.n, 0);
	devices_conf_free(&conf);
}

static void test_binding(void **state)
{
	(void)state;
	good("[nbd0]\nuri = nbd://h/d\n"
	     "[nbd1]\nuri = nbd://h/d\nbinding = ioctl\n"
	     "[nbd2]\nuri = nbd://h/d\nbinding = netlink\ndead-timeout = 0\n"
	     "[nbd3]\nuri = nbd://h/d\nbinding = auto\ndead-timeout = 600\n");
	assert_int_equal(conf.n, 4);
	/* Netlink where the kernel has it, a dead-timeout of 2 minutes. */
	assert_int_equal(conf.v[0].binding, BINDING_AUTO);
	assert_int_equal(conf.v[0].dead_timeout, DEVICE_DEFAULT_DEAD_TIMEOUT);
	assert_int_equal(DEVICE_DEFAULT_DEAD_TIMEOUT, 120);
	assert_int_equal(conf.v[1].binding, BINDING_IOCTL);
	assert_int_equal(conf.v[2].binding, BINDING_NETLINK);
	assert_int_equal(conf.v[2].dead_timeout, 0);
	assert_int_equal(conf.v[3].binding, BINDING_AUTO);
	assert_int_equal(conf.v[3].dead_timeout, 600);
	assert_string_equal(device_binding_name(conf.v[1].binding), "ioctl");
	devices_conf_free(&conf);

	bad("[nbd0]\nuri = nbd://h/d\nbinding = ioctls\n",
	    "devices.conf:3: binding = 'ioctls': expected netlink, ioctl or auto");
	bad("[nbd0]\nuri = nbd://h/d\nbinding = ioctl\nbinding = netlink\n",
	    "devices.conf:4: binding given twice");
	bad("[nbd0]\nuri = nbd://h/d\ndead-timeout = 2m\n",
	    "devices.conf:3: dead-timeout = '2m': expected seconds, 0 to 86400");
	bad("[nbd0]\nuri = nbd://h/d\ndead-timeout = 86401\n", "devices.conf:3: dead-timeout");
	bad("[nbd0]\nuri = nbd://h/d\ndead_timeout = 5\n",
	    "unknown key 'dead_timeout' (expected uri, connections, readonly, timeout, binding, dead-timeout, negotiate-timeout or tls-mode)");
}

/* One deadline for a whole negotiation: 30 s unless the entry says. */
static void test_negotiate_timeout(void **state)
{
	(void)state;
	good("[nbd0]\nuri = nbd://h/d\n"
	     "[nbd1]\nuri = nbd://h/d\nnegotiate-timeout = 5\n");
	assert_int_equal(conf.v[0].negotiate_timeout, DEVICE_DEFAULT_NEGOTIATE_TIMEOUT);
	assert_int_equal(DEVICE_DEFAULT_NEGOTIATE_TIMEOUT, 30);
	assert_int_equal(conf.v[1].negotiate_timeout, 5);
	devices_conf_free(&conf);
	bad("[nbd0]\nuri = nbd://h/d\nnegotiate-timeout = 0\n",
	    "devices.conf:3: negotiate-timeout = '0': expected seconds, 1 to 600");
	bad("[nbd0]\nuri = nbd://h/d\nnegotiate-timeout = 601\n",
	    "devices.conf:3: negotiate-timeout");
	bad("[nbd0]\nuri = nbd://h/d\nnegotiate-timeout = 5\nnegotiate-timeout = 6\n",
	    "devices.conf:4: negotiate-timeout given twice");
}

/* nbds:// URIs and the way their TLS is carried. */
static void test_tls(void **state)
{
	(void)state;
	good("[nbd0]\nuri = nbds://h/d?tls-certificates=/etc/pki/cnbd\n"
	     "[nbd1]\ntls-mode = kernel\nuri = nbds://alice@h/d?tls-psk-file=/etc/cnbd/keys.psk\n"
	     "[nbd2]\nuri = nbds+unix:///d?socket=/run/s&tls-username=bob&tls-psk-file=/k\n"
	     "tls-mode = relay\n"
	     "[nbd3]\nuri = nbds://h/d\ntls-mode = auto\n");
	assert_int_equal(conf.n, 4);
	assert_int_equal(conf.v[0].tls_mode, TLS_MODE_AUTO);
	assert_int_equal(conf.v[1].tls_mode, TLS_MODE_KERNEL);
	assert_int_equal(conf.v[2].tls_mode, TLS_MODE_RELAY);
	assert_int_equal(conf.v[3].tls_mode, TLS_MODE_AUTO);
	assert_string_equal(device_tls_mode_name(conf.v[1].tls_mode), "kernel");
	assert_string_equal(device_tls_mode_name(conf.v[2].tls_mode), "relay");
	devices_conf_free(&conf);

	bad("[nbd0]\nuri = nbds://h/d\ntls-mode = userspace\n",
	    "devices.conf:3: tls-mode = 'userspace': expected kernel, relay or auto");
	bad("[nbd0]\nuri = nbds://h/d\ntls-mode = relay\ntls-mode = kernel\n",
	    "devices.conf:4: tls-mode given twice");
	/* Plaintext has nothing to carry: refused, at the section. */
	bad("[nbd0]\nuri = nbd://h/d\ntls-mode = relay\n",
	    "devices.conf:1: [nbd0] has tls-mode, but its uri is not nbds://");
	bad("[nbd0]\nuri = nbd://h/d?tls-certificates=/x\n",
	    "devices.conf:2: nbd://h/d?tls-certificates=/x: TLS settings need an nbds:// URI");
	bad("[nbd0]\nuri = nbds://h/d?tls-colour=blue\n",
	    "unknown or invalid TLS parameter 'tls-colour=blue'");
}

static void test_errors(void **state)
{
	(void)state;
	bad("[nbd0]\nuri = http://x/\n", "devices.conf:2: http://x/: not an NBD URI");
	bad("[nbd0]\nuri = nbd://h/d\nconnections = 0\n", "devices.conf:3: connections = '0'");
	bad("[nbd0]\nuri = nbd://h/d\nconnections = 65\n", "devices.conf:3: connections = '65'");
	bad("[nbd0]\nuri = nbd://h/d\nreadonly = maybe\n", "devices.conf:3: readonly = 'maybe'");
	bad("[nbd0]\nuri = nbd://h/d\ntimeout = -1\n", "devices.conf:3: timeout = '-1'");
	bad("[nbd0]\nuri = nbd://h/d\ncolour = blue\n", "devices.conf:3: unknown key 'colour'");
	bad("[nbd0]\nuri = nbd://h/d\nuri = nbd://h/e\n", "devices.conf:3: uri given twice");
	bad("uri = nbd://h/d\n", "devices.conf:1: 'uri' outside a [device] section");
	bad("[disk]\nuri = nbd://h/d\n", "devices.conf:1: [disk] is not a device");
	bad("[nbd01]\nuri = nbd://h/d\n", "devices.conf:1: [nbd01] is not a device");
	bad("[any-]\nuri = nbd://h/d\n", "[any-] is not a device");
	bad("[any-a/b]\nuri = nbd://h/d\n", "[any-a/b] is not a device");
	bad("[any-0123456789012345678901234567890123456789012345]\nuri = nbd://h/d\n",
	    "devices.conf:1: section name longer than 49 characters");
	bad("[]\nuri = nbd://h/d\n", "devices.conf:1: empty section name");
	/* A missing uri is reported at the section's header, wherever the
	 * parser notices it. */
	bad("[nbd0]\nreadonly = true\n\n[nbd1]\nuri = nbd://h/d\n",
	    "devices.conf:1: [nbd0] has no uri");
	bad("[nbd0]\nuri = nbd://h/d\n[nbd1]\ntimeout = 5\n", "devices.conf:3: [nbd1] has no uri");
	bad("[nbd0]\n[nbd1]\nuri = nbd://h/d\n", "devices.conf:1: [nbd0] has no uri");
	bad("[nbd0]\nuri = nbd://h/d\n[nbd1]\n", "devices.conf:3: [nbd1] has no uri");
	bad("[nbd0]\nuri = nbd://h/d\n[nbd1]\nuri = nbd://h/e\n[nbd0]\nuri = nbd://h/f\n",
	    "devices.conf:5: section [nbd0] given twice (first on line 1)");
	bad("[nbd0]\nuri nbd.example\n", "devices.conf:2: syntax error");
}

static void test_load(void **state)
{
	char path[] = "/tmp/test_devices_conf.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("[nbd3]\nuri = nbd://h/d\n[nbd4]\nconnections = x\n", f);
	fclose(f);
	assert_int_equal(devices_conf_load(path, &conf, err, sizeof(err)), -1);
	char want[128];
	snprintf(want, sizeof(want), "%s:4: connections = 'x'", path);
	assert_non_null(strstr(err, want));
	unlink(path);
	assert_int_equal(devices_conf_load(path, &conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_negotiate_timeout),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
