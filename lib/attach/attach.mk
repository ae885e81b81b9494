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

# The public header and the attach family's man page, with one name per
# function (a .so line) so that `man cnbd_attach_uri` finds it.
ATTACH_MAN_NAMES := cnbd_attach_uri cnbd_attach_start cnbd_attach_wait cnbd_attach_sockets \
	cnbd_attach_adopt cnbd_attach_status cnbd_attach_state_name cnbd_attach_kick \
	cnbd_attach_stop cnbd_attach_detach cnbd_attach_options_init \
	cnbd_attach_load_module cnbd_attach_have_netlink
install-lib: install-attach
install-attach:
	install -d $(DESTDIR)$(INCLUDEDIR)/cnbd $(DESTDIR)$(MANDIR)/man3
	install -m 0644 include/cnbd/attach.h $(DESTDIR)$(INCLUDEDIR)/cnbd/
	install -m 0644 lib/man/cnbd_attach.3 $(DESTDIR)$(MANDIR)/man3/
	for f in $(ATTACH_MAN_NAMES); do \
		echo '.so man3/cnbd_attach.3' > $(DESTDIR)$(MANDIR)/man3/$$f.3; done
.PHONY: install-attach
