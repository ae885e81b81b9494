# libcnbd, in one folder per part so the direction of dependencies shows
# in the tree and in every #include line ("common/log.h"):
#
#   common/    <- everything
#   proto/     <- engine/, clientlib/
#   backend/   <- embed/, server/
#   engine/    <- embed/, server/
#   embed/     (the embedded server: nothing in lib/ uses it)
#   clientlib/ <- client/ (nbd-clientd, nbdctl)
#
# A part may include headers only from the parts it points to; see
# docs/internals.md. A static archive of PIC objects; programs that load
# backends export the host functions (cnbd_error, ...) to them with
# $(HOST_EXPORTS).
LIB_SRCS :=
include lib/common/common.mk lib/proto/proto.mk lib/backend/backend.mk \
	lib/engine/engine.mk lib/embed/embed.mk lib/clientlib/clientlib.mk
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIBCNBD  := $(B)/libcnbd.a
LIB_LIBS := -linih -ldl -lgnutls

# Backends call these host functions; nothing in the program itself may,
# so each is both forced out of the archive (-u) and exported.
HOST_SYMBOLS := cnbd_error cnbd_debug cnbd_parse_size cnbd_parse_bool cnbd_add_extent \
	cnbd_pack_fd cnbd_pack_bytes cnbd_unpack_fd cnbd_unpack_bytes cnbd_backend_lookup
HOST_EXPORTS := $(foreach s,$(HOST_SYMBOLS),-Wl,-u,$(s) -Wl,--export-dynamic-symbol=$(s))

$(LIBCNBD): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

all: $(LIBCNBD)

# For programs that embed the engine: the archive, the public headers
# (backend.h and protocol.h are installed with the backends) and cnbd.pc.
$(B)/cnbd.pc: lib/cnbd.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

install-lib: $(LIBCNBD) $(B)/cnbd.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/cnbd $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0644 $(LIBCNBD) $(DESTDIR)$(LIBDIR)/libcnbd.a
	install -m 0644 include/cnbd/serve.h include/cnbd/server.h $(DESTDIR)$(INCLUDEDIR)/cnbd/
	install -m 0644 $(B)/cnbd.pc $(DESTDIR)$(PKGCONFIGDIR)/cnbd.pc

install: install-lib
.PHONY: install-lib
