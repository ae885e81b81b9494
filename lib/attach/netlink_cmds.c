/* SPDX-License-Identifier: MIT */
/* CONNECT, DISCONNECT, RECONFIGURE and STATUS as single calls. */
#include <errno.h>
#include <linux/nbd-netlink.h>
#include <stdio.h>
#include <time.h>

#include "attach/netlink_call.h"
#include "attach/netlink_cmds.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct nl_msg *build_connect(int family, const void *arg)
{
	return nbd_msg_connect(family, arg);
}

static int take_index(struct nl_msg *msg, void *arg)
{
	return nbd_msg_parse_index(msg, NBD_CMD_CONNECT, arg);
}

int nbd_nl_connect(const struct nbd_nl_connect *c, unsigned busy_ms, unsigned *index,
		   char *err, size_t errlen)
{
	struct nbd_nl_request rq = {
		.what = "NBD_CMD_CONNECT", .build = build_connect, .arg = c,
		.reply = take_index, .reply_arg = index,
	};
	unsigned waited = 0;

	*index = ~0U;
	while (nbd_nl_call(&rq, err, errlen) < 0) {
		if (errno != EBUSY || waited >= busy_ms) {
			if (errno == EBUSY && c->index >= 0)
				snprintf(err, errlen,
					 "NBD_CMD_CONNECT on nbd%d: the device is in use (another client serves it, or it is held open)",
					 c->index);
			return -1;
		}
		sleep_ms(100);
		waited += 100;
	}
	if (*index == ~0U) {
		snprintf(err, errlen, "NBD_CMD_CONNECT: the kernel did not say which device it used");
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static struct nl_msg *build_disconnect(int family, const void *arg)
{
	return nbd_msg_disconnect(family, *(const unsigned *)arg);
}

int nbd_nl_disconnect(unsigned index, char *err, size_t errlen)
{
	struct nbd_nl_request rq = {
		.what = "NBD_CMD_DISCONNECT", .build = build_disconnect, .arg = &index,
	};

	return nbd_nl_call(&rq, err, errlen);
}

struct reconfigure {
	unsigned index;
	int fd;
	const char *identifier;
};

static struct nl_msg *build_reconfigure(int family, const void *arg)
{
	const struct reconfigure *r = arg;

	return nbd_msg_reconfigure(family, r->index, r->fd, r->identifier);
}

int nbd_nl_reconfigure(unsigned index, int fd, const char *identifier,
		       char *err, size_t errlen)
{
	struct reconfigure r = { .index = index, .fd = fd, .identifier = identifier };
	struct nbd_nl_request rq = {
		.what = "NBD_CMD_RECONFIGURE", .build = build_reconfigure, .arg = &r,
	};

	return nbd_nl_call(&rq, err, errlen);
}

static struct nl_msg *build_status(int family, const void *arg)
{
	return nbd_msg_status(family, *(const unsigned *)arg);
}

struct status_reply {
	unsigned index;
	bool seen, connected;
};

static int take_status(struct nl_msg *msg, void *arg)
{
	struct status_reply *r = arg;

	if (nbd_msg_parse_status(msg, r->index, &r->connected) < 0)
		return -1;
	r->seen = true;
	return 0;
}

int nbd_nl_status(unsigned index, bool *connected, char *err, size_t errlen)
{
	struct status_reply r = { .index = index };
	struct nbd_nl_request rq = {
		.what = "NBD_CMD_STATUS", .build = build_status, .arg = &index,
		.reply = take_status, .reply_arg = &r,
	};

	if (nbd_nl_call(&rq, err, errlen) < 0)
		return -1;
	if (!r.seen) {
		snprintf(err, errlen, "NBD_CMD_STATUS: no reply");
		errno = EPROTO;
		return -1;
	}
	*connected = r.connected;
	return 0;
}
