#!/bin/bash
# kernel-timeout: 300
# client_tls_x509.sh with the daemon's TLS relay forced (tls-mode relay).
TLS_MODE=relay . "$CNBD_REPO/tests/kernel/cases/client_tls_x509.sh"
