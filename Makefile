# cnbd: one non-recursive GNU make build. Each directory contributes a
# fragment (lib/lib.mk, server/server.mk, ...) that appends to the lists
# below; everything is built under $(B) so that a sanitizer build
# (make SANITIZE=1 -> build/asan) never mixes objects with a normal one.
#
# Targets: all check check-kernel check-debian bench run install clean fuzz deb

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR    ?= $(PREFIX)/share/man
BACKENDDIR ?= $(LIBDIR)/cnbd/backends
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
UDEVDIR   ?= $(PREFIX)/lib/udev/rules.d
MODPROBEDIR ?= $(PREFIX)/lib/modprobe.d
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

CC        ?= cc
ifeq ($(SANITIZE),1)
B         := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
B         := build
SAN_FLAGS :=
endif

WARN      := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wmissing-prototypes \
             -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
CPPFLAGS  += -D_GNU_SOURCE -Iinclude -Ilib -DCNBD_VERSION='"$(VERSION)"' \
             -DCNBD_BACKENDDIR='"$(BACKENDDIR)"' -DCNBD_SYSCONFDIR='"$(SYSCONFDIR)"'
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -fPIC -pthread $(WARN) $(SAN_FLAGS)
LDFLAGS   += -pthread $(SAN_FLAGS)

# Filled by the fragments.
PROGRAMS  :=
BACKENDS  :=
UNIT_TESTS :=
CLEAN     :=

all:

include lib/lib.mk
include $(wildcard backends/backends.mk backends/rbd.mk backends/faults.mk)
include $(wildcard server/server.mk)
include $(wildcard client/client.mk)
include $(wildcard examples/examples.mk)
include $(wildcard tests/tests.mk)
include $(wildcard tests/kernel/kernel.mk)
include $(wildcard tests/bench/bench.mk)
include $(wildcard tests/fuzz/fuzz.mk)
include $(wildcard tests/debian/debian.mk)
include $(wildcard debian/deb.mk)

all: $(PROGRAMS) $(BACKENDS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# (Files only: make deb's staging tree under build/deb has directories
# such as rules.d, and its own build's .d files are not ours.)
-include $(shell find $(B) -name '*.d' -type f -not -path '$(DEB_OUT)/*' 2>/dev/null)

# The README's two commands. Each first installs the Debian packages it
# lacks (deps/install-deps; as non-root it prints the apt-get line and
# stops), then builds in a new make, which reads the flags pkg-config gives
# with the packages there.
BUILD_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$$(nproc))

run:
	deps/install-deps build
	$(MAKE) --no-print-directory $(BUILD_JOBS) all
	$(B)/nbd-serverd -f -B $(B)/backends

test:
	deps/install-deps all
	$(MAKE) --no-print-directory $(BUILD_JOBS) all
	tests/run-all

clean:
	rm -rf build $(CLEAN)

.PHONY: all clean check check-kernel bench run test install fuzz
.DELETE_ON_ERROR:
