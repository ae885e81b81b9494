/* SPDX-License-Identifier: MIT */
/*
 * Listening to LINK_DEAD on nbd's multicast group. Events carry no
 * sequence number of ours (the kernel sends them unasked), so the check
 * is off. When the socket overruns the kernel drops events and recvmsg
 * says ENOBUFS: then every device is told to look for itself.
 */
#include <errno.h>
#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "attach/netlink_events.h"
#include "attach/netlink_msg.h"
#include "attach/quiet_thread.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nl_sock *events_sk;
static void (*events_fn)(unsigned index);

static int on_event(struct nl_msg *msg, void *arg)
{
	unsigned index;

	(void)arg;
	if (nbd_msg_parse_index(msg, NBD_CMD_LINK_DEAD, &index) == 0) {
		log_debug("netlink: LINK_DEAD for nbd%u", index);
		events_fn(index);
	}
	return NL_OK;
}

static void *listen_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int rc = nl_recvmsgs_default(events_sk);

		if (rc >= 0)
			continue;
		if (rc == -NLE_NOMEM || rc == -NLE_MSG_OVERFLOW) {
			log_warn("netlink: events were lost (%s); every device checks its connections",
				 nl_geterror(rc));
			events_fn(NETLINK_EVENTS_ALL);
			continue;
		}
		/* Not expected; do not spin on it. */
		log_warn("netlink: reading events: %s", nl_geterror(rc));
		nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
	}
	return NULL;
}

static struct nl_sock *subscribe(char *err, size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc, group = -1;

	if (!sk) {
		snprintf(err, errlen, "netlink events: out of memory");
		return NULL;
	}
	nl_socket_disable_seq_check(sk);
	rc = genl_connect(sk);
	if (rc == 0)
		rc = group = genl_ctrl_resolve_grp(sk, NBD_GENL_FAMILY_NAME,
						   NBD_GENL_MCAST_GROUP_NAME);
	if (rc >= 0)
		rc = nl_socket_add_membership(sk, group);
	if (rc >= 0)
		rc = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, NULL);
	if (rc >= 0)
		return sk;
	snprintf(err, errlen, "netlink: joining %s/%s: %s", NBD_GENL_FAMILY_NAME,
		 NBD_GENL_MCAST_GROUP_NAME, nl_geterror(rc));
	nl_socket_free(sk);
	return NULL;
}

int netlink_events_start(void (*fn)(unsigned index), char *err, size_t errlen)
{
	pthread_attr_t attr;
	pthread_t thread;
	int rc = 0;

	pthread_mutex_lock(&start_lock);
	if (events_sk)
		goto out;
	events_fn = fn;
	events_sk = subscribe(err, errlen);
	if (!events_sk) {
		rc = -1;
		goto out;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	errno = quiet_thread_create(&thread, &attr, listen_thread, NULL);
	pthread_attr_destroy(&attr);
	if (errno) {
		snprintf(err, errlen, "netlink events: cannot start a thread: %s",
			 strerror(errno));
		nl_socket_free(events_sk);
		events_sk = NULL;
		rc = -1;
	}
out:
	pthread_mutex_unlock(&start_lock);
	return rc;
}
