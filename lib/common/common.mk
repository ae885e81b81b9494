# lib/common/: Used by every other part, and uses none of them: logging (and the
# host functions cnbd_error/cnbd_debug backends call), number and INI
# parsing, whole-buffer socket I/O, a connection's bytes in the clear or
# through TLS (conn_io), peer names, listening sockets (TCP and Unix), the trusted path walk,
# telling systemd how a daemon is (service_notify: sd_notify; -lsystemd),
# condition variables on the monotonic clock.
LIB_SRCS += $(wildcard lib/common/*.c)
