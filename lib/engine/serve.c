/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/serve_session.h"

int cnbd_serve_connection(int fd, const struct cnbd_serve_hooks *hooks,
			  const struct cnbd_serve_options *opts)
{
	struct session s = {
		.io = { .fd = fd },
		.hooks = hooks,
		.peer = opts ? opts->peer : NULL,
		.tls = opts ? opts->tls : NULL,
		.tls_mode = opts && (opts->tls || (hooks && hooks->hand_off_tls)) ?
			    opts->tls_mode : CNBD_TLS_OFF,
		.tls_resumed = opts && opts->tls_resumed,
		.tls_kernel = opts && opts->tls_kernel,
		.no_zeroes = opts && opts->no_zeroes,
	};
	enum handshake_result hs;
	bool failed;

	pthread_mutex_init(&s.send_lock, NULL);
	if (opts && opts->handshake_timeout > 0) {
		clock_gettime(CLOCK_MONOTONIC, &s.deadline);
		s.deadline.tv_sec += opts->handshake_timeout;
	}
	hs = serve_handshake(&s);
	failed = hs == HANDSHAKE_FAILED;
	if (hs == HANDSHAKE_TRANSMISSION) {
		/* The peer is named here unless the caller's log prefix does. */
		log_info("%s%sserving export '%s' (%llu bytes, flags 0x%04x%s%s)",
			 s.peer ? s.peer : "", s.peer ? ": " : "", s.exp->name,
			 (unsigned long long)s.size, s.tflags,
			 s.structured ? ", structured replies" : "",
			 s.io.ktls ? ", kernel TLS" : s.io.tls ? ", TLS" : "");
		failed = serve_transmission(&s, opts ? opts->threads : 0) ==
			 TRANSMISSION_FAILED;
		log_info("%s%s%s", s.peer ? s.peer : "", s.peer ? ": " : "",
			 failed ? "connection ended" : "disconnected");
	}
	serve_close_export(&s);
	free(s.meta_export);
	pthread_mutex_destroy(&s.send_lock);
	conn_close(&s.io);
	return failed ? -1 : 0;
}
