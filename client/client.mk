# The client side: nbd-clientd (the daemon), nbdctl (the command line),
# cnbd-io (the client library from the shell, for tests; not installed),
# and the files udev, modprobe and systemd need.

NBDCTL_OBJS := $(addprefix $(B)/client/, nbdctl.o nbdctl_attach.o nbdctl_list.o \
	nbdctl_exports.o nbdctl_udev.o control_client.o control_text.o sysfs_nbd.o)
# The server's side appends its "nbdctl server" object here (it defines
# nbdctl_server_command); nbdctl links without it.
NBDCTL_OBJS += $(NBDCTL_EXTRA_OBJS)

CNBD_IO_OBJS := $(B)/client/cnbd_io.o

PROGRAMS += $(B)/nbdctl $(B)/tests/cnbd-io

$(B)/nbdctl: $(NBDCTL_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(NBDCTL_OBJS) $(LIBCNBD) $(LIB_LIBS)

$(B)/tests/cnbd-io: $(CNBD_IO_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CNBD_IO_OBJS) $(LIBCNBD) $(LIB_LIBS)
