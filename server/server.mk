# nbd-serverd: the master (config, listen, fork, privilege drop) and the
# worker that runs libcnbd's per-connection engine.
SERVER_SRCS := $(wildcard server/*.c)
SERVER_OBJS := $(SERVER_SRCS:%.c=$(B)/%.o)
SERVER_BIN  := $(B)/nbd-serverd
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp)
SYSTEMD_LIBS := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
SERVER_LIBS := -lcap-ng $(SECCOMP_LIBS) $(SYSTEMD_LIBS)

PROGRAMS += $(SERVER_BIN)

$(SERVER_BIN): $(SERVER_OBJS) $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(SERVER_OBJS) $(LIBCNBD) $(LIB_LIBS) $(SERVER_LIBS) $(HOST_EXPORTS)

# The config parser is tested without loading any backend.
UNIT_EXTRA_test_server_config := $(B)/server/config.o $(B)/server/config_server.o \
	$(B)/server/config_export.o $(B)/server/config_read.o $(B)/server/config_runtime.o \
	$(B)/server/export_list.o $(B)/server/config_tls.o $(B)/server/acl_parse.o \
	$(B)/server/acl_peer.o
UNIT_EXTRA_test_server_tls_config := $(UNIT_EXTRA_test_server_config) $(B)/server/tls_load.o

# Access lists: parsing and matching, peers made by hand and from real
# sockets.
UNIT_EXTRA_test_acl := $(B)/server/acl_parse.o $(B)/server/acl_peer.o

# Statistics: the counters, and a real page's writer and reader.
UNIT_EXTRA_test_stats := $(B)/server/stats_counters.o $(B)/server/stats_page.o

# The sandbox is tested in forked children, one real engine among them.
UNIT_EXTRA_test_sandbox := $(B)/server/sandbox.o $(B)/tests/lib/engine_harness.o $(SECCOMP_LIBS)
$(B)/tests/unit/test_sandbox.o: CPPFLAGS += -Iserver -Itests/lib

# "nbdctl server ...": the server's control socket from nbdctl, hooked
# into nbdctl's dispatcher through client/client.mk's NBDCTL_EXTRA_OBJS.
NBDCTL_EXTRA_OBJS += $(B)/client/nbdctl_server.o $(B)/client/nbdctl_server_stats.o \
	$(B)/server/stats_counters.o

install: install-server
install-server: $(SERVER_BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/cnbd
	install -m 0755 $(SERVER_BIN) $(DESTDIR)$(SBINDIR)/nbd-serverd
	install -m 0644 server/nbd-serverd.8 $(DESTDIR)$(MANDIR)/man8/nbd-serverd.8
	sed 's|@SBINDIR@|$(SBINDIR)|g' server/nbd-serverd.service \
		> $(DESTDIR)$(UNITDIR)/nbd-serverd.service
	install -m 0644 server/nbd-serverd.socket $(DESTDIR)$(UNITDIR)/nbd-serverd.socket
	chmod 0644 $(DESTDIR)$(UNITDIR)/nbd-serverd.service
	sed 's|/usr/local/lib/cnbd/backends|$(BACKENDDIR)|' server/nbd-serverd.conf.example \
		> $(DESTDIR)$(SYSCONFDIR)/cnbd/nbd-serverd.conf.example
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/cnbd/nbd-serverd.conf.example

.PHONY: install-server
