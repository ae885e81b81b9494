#!/bin/bash
# kernel-timeout: 300
# client_tls_reconnect.sh with the daemon's TLS relay forced (tls-mode relay).
TLS_MODE=relay . "$CNBD_REPO/tests/kernel/cases/client_tls_reconnect.sh"
