# The Ceph RBD backend: $(B)/backends/rbd.so, linked with librbd and
# librados. Built only where those are installed (Debian: librbd-dev,
# librados-dev); elsewhere make says so in one warning line and builds
# everything else. Included from the top Makefile after
# backends/backends.mk, whose pattern rules and flags it relies on.

RBD_SRCS := backends/rbd.c backends/rbd_params.c backends/rbd_keyring.c \
	    backends/rbd_connect.c backends/rbd_extents.c backends/rbd_pack.c
RBD_OBJS := $(RBD_SRCS:%.c=$(B)/%.o)
RBD_SO   := $(B)/backends/rbd.so

# Debian ships no .pc file for librbd; take one if a system has it, else
# try to compile and link a call, which proves both header and library.
RBD_LIBS := $(shell pkg-config --libs librbd librados 2>/dev/null)
ifeq ($(RBD_LIBS),)
RBD_LIBS := $(shell printf '#include <rbd/librbd.h>\nint main(void) { int a, b, c; rbd_version(&a, &b, &c); return 0; }\n' | \
	$(CC) -x c -o /dev/null - -lrbd -lrados >/dev/null 2>&1 && echo -lrbd -lrados)
endif

ifeq ($(RBD_LIBS),)
$(warning rbd backend not built: librbd/librados headers and libraries not found (deps/install-deps ceph installs them))
else
BACKENDS += $(RBD_SO)
all: $(RBD_SO)

$(RBD_OBJS): CPPFLAGS += $(shell pkg-config --cflags librbd librados 2>/dev/null)
.SECONDARY: $(RBD_OBJS)

# An explicit rule: the pattern rule in backends.mk takes one object and
# no libraries.
$(RBD_SO): $(RBD_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -o $@ $(RBD_OBJS) $(RBD_LIBS)

install: install-rbd

install-rbd: $(RBD_SO)
	install -d $(DESTDIR)$(BACKENDDIR)
	install -m 0755 $(RBD_SO) $(DESTDIR)$(BACKENDDIR)/

.PHONY: install-rbd
endif
