# The client side: nbd-clientd (the daemon), nbdctl (the command line),
# cnbd-io (the client library from the shell, for tests; not installed),
# and the files udev, modprobe and systemd need.

NBDCTL_OBJS := $(addprefix $(B)/client/, nbdctl.o nbdctl_attach.o nbdctl_list.o \
	nbdctl_exports.o nbdctl_udev.o nbdctl_json.o nbdctl_table.o nbdctl_progress.o \
	nbdctl_wait.o nbdctl_reload.o control_client.o)
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

# The daemon: the devices file, the control socket, the table of its
# devices and their records; attaching them is lib/attach/'s.
CLIENTD_OBJS := $(addprefix $(B)/client/, clientd.o control.o control_commands.o \
	device_table.o device_state.o devices_conf.o devices_apply.o device_status.o)
PROGRAMS += $(B)/nbd-clientd

$(B)/nbd-clientd: $(CLIENTD_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CLIENTD_OBJS) $(LIBCNBD) $(LIB_LIBS)

# Unit tests of client/ code (tests/tests.mk builds them). The ioctl
# binding runs against a fake kernel: ioctl() wrapped by the linker.
UNIT_EXTRA_test_client_devices_conf := $(B)/client/devices_conf.o
UNIT_EXTRA_test_ioctl_sequence := $(B)/lib/attach/ioctl_bind.o -Wl,--wrap=ioctl
$(B)/tests/unit/test_client_%.o: CPPFLAGS += -Iclient

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
$(B)/tests/unit/test_netlink_%.o: CPPFLAGS += $(NL_CFLAGS)
