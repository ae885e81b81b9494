# The client side: nbd-clientd (the daemon), nbdctl (the command line),
# cnbd-io (the client library from the shell, for tests; not installed),
# and the files udev, modprobe and systemd need.

NBDCTL_OBJS := $(addprefix $(B)/client/, nbdctl.o nbdctl_attach.o nbdctl_list.o \
	nbdctl_exports.o nbdctl_udev.o nbdctl_json.o nbdctl_table.o nbdctl_progress.o \
	nbdctl_wait.o nbdctl_reload.o control_client.o sysfs_nbd.o)
# The server's side appends its "nbdctl server" object here (it defines
# nbdctl_server_command; see client/nbdctl.h), and any libraries it needs
# to NBDCTL_EXTRA_LIBS. nbdctl links without them.
NBDCTL_OBJS += $(NBDCTL_EXTRA_OBJS)

CNBD_IO_OBJS := $(B)/client/cnbd_io.o

PROGRAMS += $(B)/nbdctl $(B)/tests/cnbd-io

$(B)/nbdctl: $(NBDCTL_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(NBDCTL_OBJS) $(LIBCNBD) $(LIB_LIBS) $(NBDCTL_EXTRA_LIBS)

$(B)/tests/cnbd-io: $(CNBD_IO_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CNBD_IO_OBJS) $(LIBCNBD) $(LIB_LIBS)

# The netlink binding speaks to the kernel through libnl-genl-3.
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)
NETLINK_OBJS := $(addprefix $(B)/client/, netlink_msg.o netlink_call.o netlink_cmds.o \
	netlink_events.o netlink_bind.o netlink_monitor.o socket_death.o)
$(NETLINK_OBJS): CPPFLAGS += $(NL_CFLAGS)

CLIENTD_OBJS := $(addprefix $(B)/client/, clientd.o control.o control_commands.o \
	device_table.o device_state.o devices_conf.o devices_apply.o device_status.o \
	supervisor.o reconnect.o \
	backoff.o backend_id.o export_connect.o tls_connect.o ktls.o tls_relay.o \
	ioctl_bind.o kmod_load.o sysfs_nbd.o) $(NETLINK_OBJS)
PROGRAMS += $(B)/nbd-clientd

$(B)/nbd-clientd: $(CLIENTD_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CLIENTD_OBJS) $(LIBCNBD) $(LIB_LIBS) -lkmod $(NL_LIBS) \
		$(shell pkg-config --libs libsystemd)

# Unit tests of client/ code (tests/tests.mk builds them). The ioctl
# binding runs against a fake kernel: ioctl() wrapped by the linker.
UNIT_EXTRA_test_client_devices_conf := $(B)/client/devices_conf.o $(B)/client/sysfs_nbd.o
UNIT_EXTRA_test_ioctl_sequence := $(B)/client/ioctl_bind.o -Wl,--wrap=ioctl
$(B)/tests/unit/test_client_%.o $(B)/tests/unit/test_ioctl_%.o: CPPFLAGS += -Iclient
# Kernel TLS keys and the relay against in-process GnuTLS sessions.
UNIT_EXTRA_test_ktls := $(B)/client/ktls.o $(B)/client/tls_relay.o
$(B)/tests/unit/test_ktls.o: CPPFLAGS += -Iclient

# Installation: programs, man pages, the systemd unit, the udev rules and
# the modprobe options (paths filled in as installed).
install: install-client
install-client: $(B)/nbd-clientd $(B)/nbdctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(UDEVDIR) $(DESTDIR)$(MODPROBEDIR)
	install -m 0755 $(B)/nbd-clientd $(DESTDIR)$(SBINDIR)/nbd-clientd
	install -m 0755 $(B)/nbdctl $(DESTDIR)$(BINDIR)/nbdctl
	install -m 0644 client/nbd-clientd.8 client/nbdctl.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|@SBINDIR@|$(SBINDIR)|g' client/nbd-clientd.service \
		> $(DESTDIR)$(UNITDIR)/nbd-clientd.service
	sed 's|@BINDIR@|$(BINDIR)|g' udev/60-cnbd.rules.in > $(DESTDIR)$(UDEVDIR)/60-cnbd.rules
	chmod 0644 $(DESTDIR)$(UNITDIR)/nbd-clientd.service $(DESTDIR)$(UDEVDIR)/60-cnbd.rules
	install -m 0644 modprobe/cnbd.conf $(DESTDIR)$(MODPROBEDIR)/cnbd.conf

.PHONY: install-client

# The netlink binding's unit tests: its messages read back with libnl,
# and the binding against a fake kernel (nbd_nl_call replaced).
UNIT_EXTRA_test_netlink_msg := $(B)/client/netlink_msg.o $(NL_LIBS)
UNIT_EXTRA_test_netlink_bind := $(NETLINK_OBJS) $(NL_LIBS)
$(B)/tests/unit/test_netlink_%.o: CPPFLAGS += -Iclient $(NL_CFLAGS)
