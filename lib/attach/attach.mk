# lib/attach/: binding an export to a kernel device and keeping it bound
# (<cnbd/attach.h>): the two bindings (ioctl, and generic netlink through
# libnl-genl-3), loading nbd and tls with libkmod, what sysfs says of a
# device, kernel TLS and the TLS relay, and the reconnect supervisor.
# Uses common/, proto/, clientlib/; nbd-clientd (client/) is built on it.
ATTACH_SRCS := $(wildcard lib/attach/*.c)
LIB_SRCS += $(ATTACH_SRCS)

NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)
ATTACH_LIBS := -lkmod $(NL_LIBS)
$(ATTACH_SRCS:%.c=$(B)/%.o): CPPFLAGS += $(NL_CFLAGS)
