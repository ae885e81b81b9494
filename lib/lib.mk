# libcnbd, in one folder per part so the direction of dependencies shows
# in the tree and in every #include line ("common/log.h"):
#
#   common/    <- everything
#   proto/     <- engine/, clientlib/, clientapi/
#   backend/   <- embed/, server/
#   engine/    <- embed/, server/
#   embed/     (the embedded server: nothing in lib/ uses it)
#   clientlib/ <- clientapi/, attach/, client/ (nbd-clientd, nbdctl)
#   clientapi/ (the public client, <cnbd/client.h>: nothing in lib/ uses it)
#   attach/    <- client/ (the public attach API, <cnbd/attach.h>)
#
# A part may include headers only from the parts it points to; see
# docs/internals.md.
#
# Three products of the same PIC objects:
#   libcnbd-internal.a  everything, for the programs here (nbd-serverd,
#                       nbd-clientd, nbdctl) and the unit tests, which use
#                       internals; never installed. Programs that load
#                       backends export the host functions (cnbd_error,
#                       ...) to them with $(HOST_EXPORTS).
#   libcnbd.so.0        the installed library: soname libcnbd.so.0, only
#                       the public cnbd_* under version nodes
#                       (lib/libcnbd.map).
#   libcnbd.a           the installed static archive: one relocatable
#                       object in which every symbol the .so does not
#                       export is made local (ld -r, objcopy), so a program
#                       may have its own read_full or parse_size.
LIB_SRCS :=
include lib/common/common.mk lib/proto/proto.mk lib/backend/backend.mk \
	lib/engine/engine.mk lib/embed/embed.mk lib/clientlib/clientlib.mk \
	lib/clientapi/clientapi.mk lib/attach/attach.mk
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIBCNBD  := $(B)/libcnbd-internal.a
# libsystemd: common/service_notify.c (sd_notify for the daemons);
# ATTACH_LIBS: libkmod and libnl for attach/.
LIB_LIBS := -linih -ldl -lgnutls -lsystemd $(ATTACH_LIBS)

# Backends call these host functions; nothing in the program itself may,
# so each is both forced out of the archive (-u) and exported.
HOST_SYMBOLS := cnbd_error cnbd_debug cnbd_parse_size cnbd_parse_bool cnbd_add_extent \
	cnbd_pack_fd cnbd_pack_bytes cnbd_unpack_fd cnbd_unpack_bytes cnbd_backend_lookup \
	cnbd_extents_new cnbd_extents_count cnbd_extents_get cnbd_extents_free \
	cnbd_next_get_size cnbd_next_can_write cnbd_next_pread cnbd_next_pwrite \
	cnbd_next_flush cnbd_next_trim cnbd_next_zero cnbd_next_cache cnbd_next_extents \
	cnbd_next_flags cnbd_below_open cnbd_below_close
HOST_EXPORTS := $(foreach s,$(HOST_SYMBOLS),-Wl,-u,$(s) -Wl,--export-dynamic-symbol=$(s))

$(LIBCNBD): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# The shared library. The soname's number changes only when the ABI
# breaks; the file's name carries the release.
SONAME      := libcnbd.so.0
LIBCNBD_SO  := $(B)/libcnbd.so.$(VERSION)
LIBCNBD_A   := $(B)/libcnbd.a
LIB_MAP     := lib/libcnbd.map

$(LIBCNBD_SO): $(LIB_OBJS) $(LIB_MAP)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script=$(LIB_MAP) \
		-Wl,--no-undefined -o $@ $(LIB_OBJS) $(LIB_LIBS)
	ln -sf $(@F) $(B)/$(SONAME)
	ln -sf $(@F) $(B)/libcnbd.so

# The static archive keeps global exactly what the .so exports (its list
# is the version script's answer), so both follow one rule.
$(LIBCNBD_A): $(LIB_OBJS) $(LIBCNBD_SO)
	@mkdir -p $(B)/lib
	$(LD) -r -o $(B)/lib/libcnbd-all.o $(LIB_OBJS)
	nm -D --defined-only $(LIBCNBD_SO) | awk '$$3 !~ /^CNBD_/ { print $$3 }' \
		| sed 's/@.*//' > $(B)/lib/libcnbd.exports
	objcopy --keep-global-symbols=$(B)/lib/libcnbd.exports $(B)/lib/libcnbd-all.o \
		$(B)/lib/libcnbd.o
	rm -f $@
	$(AR) rcs $@ $(B)/lib/libcnbd.o

all: $(LIBCNBD) $(LIBCNBD_SO) $(LIBCNBD_A)

# For programs that use libcnbd: the libraries, every public header
# (backend.h and protocol.h are also installed with the backends), the
# section 3 man pages (lib/man/, one per family, and a ".so" page for each
# function a page covers: lib/man/aliases.sh) and cnbd.pc.
LIB_HEADERS := $(wildcard include/cnbd/*.h)
LIB_MANS    := $(wildcard lib/man/*.3)

# Made at every install: PREFIX may differ from the last one.
.PHONY: $(B)/cnbd.pc
$(B)/cnbd.pc: lib/cnbd.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

install-lib: $(LIBCNBD_SO) $(LIBCNBD_A) $(B)/cnbd.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/cnbd $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man3
	install -m 0644 $(LIBCNBD_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBCNBD_SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(notdir $(LIBCNBD_SO)) $(DESTDIR)$(LIBDIR)/libcnbd.so
	install -m 0644 $(LIBCNBD_A) $(DESTDIR)$(LIBDIR)/libcnbd.a
	install -m 0644 $(LIB_HEADERS) $(DESTDIR)$(INCLUDEDIR)/cnbd/
	$(if $(LIB_MANS),install -m 0644 $(LIB_MANS) $(DESTDIR)$(MANDIR)/man3/)
	for page in $(LIB_MANS); do \
		for name in $$(lib/man/aliases.sh $$page); do \
			echo ".so man3/$${page##*/}" > $(DESTDIR)$(MANDIR)/man3/$$name.3 || exit 1; \
		done; \
	done
	install -m 0644 $(B)/cnbd.pc $(DESTDIR)$(PKGCONFIGDIR)/cnbd.pc

install: install-lib
.PHONY: install-lib
