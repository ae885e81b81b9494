# Backends: backends/<name>.c becomes $(B)/backends/<name>.so, loaded by
# nbd-serverd with dlopen. Helpers shared by several backends live in
# backends/common/ and are linked into each .so that uses them (a backend
# is one self-contained file on disk, never a .so depending on another).
#
# The host functions (cnbd_error, cnbd_add_extent, ...) stay undefined in
# a backend: the executable that loads it provides them. So no
# -Wl,--no-undefined here.

BACKEND_NAMES  := file memory null cow
BACKEND_SOS    := $(BACKEND_NAMES:%=$(B)/backends/%.so)
BACKENDS       += $(BACKEND_SOS)
BACKEND_COMMON := $(B)/backends/common/seek_extents.o $(B)/backends/common/pread_full.o \
		  $(B)/backends/common/pack_fd.o

# Only the entry symbol leaves a backend: nothing it defines can clash
# with the server's symbols or another backend's.
$(B)/backends/%.o: CFLAGS += -fvisibility=hidden

$(B)/backends/file.so: $(BACKEND_COMMON)
$(B)/backends/memory.so: $(BACKEND_COMMON)

# cow, the copy-on-write layer: cow.c and its parts (backends/cow.h).
COW_PARTS := $(B)/backends/cow_overlay.o $(B)/backends/cow_map.o \
	     $(B)/backends/cow_io.o $(B)/backends/cow_commit.o
$(B)/backends/cow.so: $(COW_PARTS) $(BACKEND_COMMON)
.SECONDARY: $(COW_PARTS)

# Keep the objects: the unit tests link them, and make would otherwise
# delete them as intermediates of a pattern chain.
.SECONDARY: $(BACKEND_NAMES:%=$(B)/backends/%.o)

$(B)/backends/%.so: $(B)/backends/%.o
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -o $@ $^

# Unit tests call a backend's ops directly, linked with its objects; the
# linker wraps what a test needs to fake (a file system without
# fallocate modes, an unwritable file) or to watch (the error message).
UNIT_EXTRA_test_backend_file   := $(B)/backends/file.o $(BACKEND_COMMON) \
	-Wl,--wrap=fallocate,--wrap=open,--wrap=cnbd_error
UNIT_EXTRA_test_backend_memory := $(B)/backends/memory.o $(BACKEND_COMMON) \
	-Wl,--wrap=cnbd_error
UNIT_EXTRA_test_backend_null   := $(B)/backends/null.o

# The loader test dlopens fixtures and the shipped backends, which need
# the host functions from the test executable: pull them out of libcnbd
# (-u) and put them in its dynamic symbol table.
BACKEND_FIXTURE_SRCS := $(wildcard tests/unit/fixtures/*.c)
BACKEND_FIXTURES     := $(BACKEND_FIXTURE_SRCS:%.c=$(B)/%.so)
UNIT_EXTRA_test_backend_load := $(HOST_EXPORTS) -Wl,-u,cnbd_error \
	-Wl,-u,cnbd_debug -Wl,-u,cnbd_parse_size -Wl,-u,cnbd_parse_bool \
	-Wl,-u,cnbd_add_extent

.SECONDARY: $(BACKEND_FIXTURE_SRCS:%.c=$(B)/%.o)

$(B)/tests/unit/fixtures/%.so: $(B)/tests/unit/fixtures/%.o
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -o $@ $^

$(B)/tests/unit/test_backend_load: | $(BACKEND_FIXTURES) $(BACKEND_SOS)

# What a third party needs to build a backend: the headers and a
# pkg-config file (generated here so that it names the install's paths).
install: install-backends

install-backends: $(BACKEND_SOS)
	install -d $(DESTDIR)$(BACKENDDIR) $(DESTDIR)$(INCLUDEDIR)/cnbd \
		$(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(BACKEND_SOS) $(DESTDIR)$(BACKENDDIR)/
	install -m 0644 include/cnbd/backend.h include/cnbd/protocol.h \
		$(DESTDIR)$(INCLUDEDIR)/cnbd/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@BACKENDDIR@|$(BACKENDDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		backends/cnbd-backend.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/cnbd-backend.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/cnbd-backend.pc

.PHONY: install-backends
