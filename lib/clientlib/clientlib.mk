# lib/clientlib/: The NBD client library: URIs, connecting (TCP, Unix, TLS), the
# handshake (GO, INFO, LIST, EXPORT_NAME) and requests. Uses common/,
# proto/ only; nbd-clientd (client/) is built on it.
LIB_SRCS += $(wildcard lib/clientlib/*.c)
