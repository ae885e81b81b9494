/* SPDX-License-Identifier: MIT */
#include "common/ktls.h"
#include "common/log.h"
#include "tls_kernel.h"

bool tls_kernel_wanted(const struct tls_config *t)
{
	static int available = -1;	/* the master is one thread */
	char why[256];

	if (t->mode == CNBD_TLS_OFF || t->kernel == TLS_KERNEL_OFF)
		return false;
	if (available < 0) {
		available = ktls_probe(why, sizeof(why)) == 0;
		if (available)
			log_info("TLS: workers hand each session to kernel TLS after the handshake (tls-kernel = auto)");
		else
			log_info("TLS: kernel TLS is not available (%s): workers encrypt with GnuTLS",
				 why);
	}
	return available;
}
