/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's verbs:
 *   attach URI [device=nbdN|any] [connections=N] [readonly=yes|no] [timeout=S]
 *          [binding=auto|netlink|ioctl] [dead-timeout=S] [negotiate-timeout=S]
 *          [tls-mode=auto|kernel|relay]
 *       -> device=nbdN
 *   detach nbdN [force]
 *   list          -> one line per device: device= state= binding= size=
 *                    connections= readonly= timeout= dead-timeout=
 *                    negotiate-timeout= reconnects= tls=
 *                    source= uri= export= error=
 *   reload        -> summary=TEXT (the devices file read again)
 *   udev-add nbdN    (returns at once)
 *   udev-name nbdN   -> export=NAME
 *   version       -> version=X
 * Values that may hold anything are escaped (control_text.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "control_client.h"
#include "common/control_text.h"
#include "device.h"
#include "devices_apply.h"
#include "common/log.h"
#include "common/parse.h"
#include "attach/sysfs_nbd.h"

#define MAX_WORDS	16

static int split(char *line, char **words)
{
	char *save = NULL;
	int n = 0;

	for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n == MAX_WORDS)
			return -1;
		words[n++] = w;
	}
	return n;
}

static int attach_option(struct device_conf *dc, const char *word, char *err, size_t errlen)
{
	const char *eq = strchr(word, '=');
	const char *v = eq ? eq + 1 : "";
	uint64_t n;
	int b;

	if (!strncmp(word, "device=", 7)) {
		if (!nbd_name_valid(v) && strcmp(v, "any"))
			goto bad;
		snprintf(dc->device, sizeof(dc->device), "%s", v);
	} else if (!strncmp(word, "connections=", 12)) {
		if (parse_uint(v, DEVICE_MAX_CONNECTIONS, &n) < 0 || !n)
			goto bad;
		dc->connections = n;
	} else if (!strncmp(word, "readonly=", 9)) {
		if ((b = parse_bool(v)) < 0)
			goto bad;
		dc->readonly = b;
	} else if (!strncmp(word, "timeout=", 8)) {
		if (parse_uint(v, DEVICE_MAX_TIMEOUT, &n) < 0)
			goto bad;
		dc->timeout = n;
	} else if (!strncmp(word, "dead-timeout=", 13)) {
		if (parse_uint(v, DEVICE_MAX_TIMEOUT, &n) < 0)
			goto bad;
		dc->dead_timeout = n;
	} else if (!strncmp(word, "negotiate-timeout=", 18)) {
		if (parse_uint(v, DEVICE_MAX_NEGOTIATE_TIMEOUT, &n) < 0 || !n)
			goto bad;
		dc->negotiate_timeout = n;
	} else if (!strncmp(word, "binding=", 8)) {
		if (device_binding_parse(v, &dc->binding) < 0)
			goto bad;
	} else if (!strncmp(word, "tls-mode=", 9)) {
		if (device_tls_mode_parse(v, &dc->tls_mode) < 0)
			goto bad;
	} else {
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad attach option '%s'", word);
	return -1;
}

static void cmd_attach(int fd, int argc, char **argv)
{
	struct device_conf dc = { .device = "any", .connections = 1,
				  .timeout = DEVICE_DEFAULT_TIMEOUT,
				  .dead_timeout = DEVICE_DEFAULT_DEAD_TIMEOUT,
				  .negotiate_timeout = DEVICE_DEFAULT_NEGOTIATE_TIMEOUT };
	char err[512], name[64] = "";
	struct device *d;
	int rc = -1;

	if (argc < 2) {
		control_reply(fd, "error: attach needs a URI");
		return;
	}
	dc.uri = argv[1];
	for (int i = 2; i < argc; i++) {
		if (attach_option(&dc, argv[i], err, sizeof(err)) < 0) {
			control_reply(fd, "error: %s", err);
			return;
		}
	}
	d = device_new(&dc, false, err, sizeof(err));
	if (!d) {
		control_reply(fd, "error: %s", err);
		return;
	}
	pthread_mutex_lock(&device_lock);
	rc = device_start_locked(d, err, sizeof(err));
	pthread_mutex_unlock(&device_lock);
	/* The creator's reference keeps d, and so its attachment. */
	if (rc == 0 && (rc = cnbd_attach_wait(d->attach, err, sizeof(err))) == 0) {
		struct cnbd_attach_status st;

		device_status(d, &st);
		snprintf(name, sizeof(name), "%s", st.device);
	}
	pthread_mutex_lock(&device_lock);
	device_put_locked(d);
	pthread_mutex_unlock(&device_lock);
	if (rc == 0)
		control_reply(fd, "device=%s", name);
	control_reply(fd, rc == 0 ? "ok" : "error: %s", err);
}

/* Mounted (or otherwise claimed exclusively)? */
static bool claimed(const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EBUSY;
}

static void cmd_detach(int fd, int argc, char **argv)
{
	bool force = argc == 3 && !strcmp(argv[2], "force");
	struct device *d;

	if (argc < 2 || argc > 3 || (argc == 3 && !force)) {
		control_reply(fd, "error: usage: detach nbdN [force]");
		return;
	}
	if (!force && nbd_name_valid(argv[1]) && claimed(argv[1])) {
		control_reply(fd, "error: %s is in use (mounted?): unmount it first, or force",
			      argv[1]);
		return;
	}
	pthread_mutex_lock(&device_lock);
	d = device_find_locked(argv[1]);
	if (!d) {
		pthread_mutex_unlock(&device_lock);
		control_reply(fd, "error: %s is not attached by nbd-clientd", argv[1]);
		return;
	}
	device_get_locked(d);
	device_stop_locked(d);
	while (!d->finished)
		device_wait_locked(d, NULL);
	device_put_locked(d);
	pthread_mutex_unlock(&device_lock);
	log_info("%s: detached on request", argv[1]);
	control_reply(fd, "ok");
}

/* One device as "key=value ..." (called with device_lock held); the
 * line is malloc'd, as long as its values need (a URI may be long). */
static char *format_device(const struct device *d)
{
	size_t ulen = 3 * strlen(d->uri_text) + 1, elen = 3 * strlen(d->export_name) + 1;
	struct cnbd_attach_status st;
	char *uri = malloc(ulen), *export = malloc(elen), error[3 * sizeof(st.error)];
	char *line = NULL;

	device_status(d, &st);
	if (uri && export) {
		control_escape(d->uri_text, uri, ulen);
		control_escape(d->export_name, export, elen);
		control_escape(st.error, error, sizeof(error));
		if (asprintf(&line,
			     "device=%s spec=%s state=%s binding=%s size=%" PRIu64 " connections=%u readonly=%s timeout=%u dead-timeout=%u negotiate-timeout=%u reconnects=%u tls=%s source=%s uri=%s export=%s error=%s",
			     st.device[0] ? st.device : "-", d->spec,
			     cnbd_attach_state_name(st.state),
			     st.binding[0] ? st.binding : device_binding_name(d->binding_choice),
			     st.size, d->connections, d->readonly ? "yes" : "no", d->timeout,
			     d->dead_timeout, d->negotiate_timeout, st.reconnects, st.tls,
			     d->from_config ? "config" : "nbdctl", uri, export, error) < 0)
			line = NULL;
	}
	free(uri);
	free(export);
	return line;
}

static void cmd_list(int fd)
{
	char **lines = NULL;
	size_t n = 0;

	/* Format under the lock, send after it: a slow reader must not
	 * hold up the supervisors. */
	pthread_mutex_lock(&device_lock);
	for (struct device *d = device_first_locked(); d; d = d->next) {
		char **more = realloc(lines, (n + 1) * sizeof(*lines));

		if (!more || !(more[n] = format_device(d))) {
			lines = more ? more : lines;
			break;
		}
		lines = more;
		n++;
	}
	pthread_mutex_unlock(&device_lock);
	/* Newest first in the table; oldest first is friendlier. */
	for (size_t i = n; i-- > 0; ) {
		control_reply(fd, "%s", lines[i]);
		free(lines[i]);
	}
	free(lines);
	control_reply(fd, "ok");
}

static void cmd_reload(int fd)
{
	char summary[512], esc[3 * sizeof(summary)], err[1024];

	if (devices_reload(summary, sizeof(summary), err, sizeof(err)) < 0) {
		log_error("control: reload failed, nothing changed: %s", err);
		control_reply(fd, "error: %s", err);
		return;
	}
	log_info("control: reloaded: %s", summary);
	control_escape(summary, esc, sizeof(esc));
	control_reply(fd, "summary=%s", esc);
	control_reply(fd, "ok");
}

/* udev saw a device appear: whoever waits for one may try now. */
static void cmd_udev_add(int fd, int argc, char **argv)
{
	unsigned kicked = 0;

	if (argc != 2 || !nbd_name_valid(argv[1])) {
		control_reply(fd, "error: usage: udev-add nbdN");
		return;
	}
	pthread_mutex_lock(&device_lock);
	for (struct device *d = device_first_locked(); d; d = d->next) {
		struct cnbd_attach_status st;

		device_status(d, &st);
		if (st.state != CNBD_ATTACH_WAITING && st.state != CNBD_ATTACH_RECONNECTING &&
		    st.state != CNBD_ATTACH_FAILED)
			continue;
		if (st.device[0] && strcmp(st.device, argv[1]))
			continue;
		cnbd_attach_kick(d->attach);
		kicked++;
	}
	pthread_mutex_unlock(&device_lock);
	log_debug("udev-add %s: %u waiting device(s) told", argv[1], kicked);
	control_reply(fd, "ok");
}

static void cmd_udev_name(int fd, int argc, char **argv)
{
	char export[3 * NBD_MAX_STRING + 1];
	struct cnbd_attach_status st;
	struct device *d;

	if (argc != 2 || !nbd_name_valid(argv[1])) {
		control_reply(fd, "error: usage: udev-name nbdN");
		return;
	}
	pthread_mutex_lock(&device_lock);
	d = device_find_locked(argv[1]);
	if (d)
		device_status(d, &st);
	if (d && st.bound && !strcmp(st.device, argv[1]))
		control_escape(d->export_name, export, sizeof(export));
	else
		d = NULL;
	pthread_mutex_unlock(&device_lock);
	if (!d) {
		control_reply(fd, "error: %s is not attached by nbd-clientd", argv[1]);
		return;
	}
	control_reply(fd, "export=%s", export);
	control_reply(fd, "ok");
}

void control_dispatch(int fd, char *line)
{
	char *words[MAX_WORDS];
	int n = split(line, words);

	if (n <= 0) {
		control_reply(fd, "error: empty or overlong request");
		return;
	}
	log_debug("control: %s", words[0]);
	if (!strcmp(words[0], "attach"))
		cmd_attach(fd, n, words);
	else if (!strcmp(words[0], "detach"))
		cmd_detach(fd, n, words);
	else if (!strcmp(words[0], "list") && n == 1)
		cmd_list(fd);
	else if (!strcmp(words[0], "reload") && n == 1)
		cmd_reload(fd);
	else if (!strcmp(words[0], "udev-add"))
		cmd_udev_add(fd, n, words);
	else if (!strcmp(words[0], "udev-name"))
		cmd_udev_name(fd, n, words);
	else if (!strcmp(words[0], "version") && n == 1)
		control_reply(fd, "version=%s\nok", CNBD_VERSION);
	else
		control_reply(fd, "error: unknown request '%.64s'", words[0]);
}
