# lib/engine/: The serving engine: one connection's negotiation and transmission
# (cnbd_serve_connection, <cnbd/serve.h>), the server side of TLS and the
# key holder that keeps private keys out of workers. Uses common/, proto/.
LIB_SRCS += $(wildcard lib/engine/*.c)
