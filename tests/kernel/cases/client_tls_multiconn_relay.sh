#!/bin/bash
# kernel-timeout: 400
# client_tls_multiconn.sh with the daemon's TLS relay forced (tls-mode
# relay): four relays, one per connection of the device.
TLS_MODE=relay . "$CNBD_REPO/tests/kernel/cases/client_tls_multiconn.sh"
