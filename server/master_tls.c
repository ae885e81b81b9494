/* SPDX-License-Identifier: MIT */
/* TEMPORARY until the tlskey branch is merged: refuses. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "master.h"

void master_tls_request(struct master *m, struct worker *w, const struct mon_request *rq)
{
	static struct mon_reply r;

	memset(&r, 0, offsetof(struct mon_reply, data));
	r.type = rq->type;
	r.status = EPERM;
	master_monitor_answer(m, w, &r, NULL, 0);
}
