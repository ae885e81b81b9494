# Example programs built as a user of the installed library would build
# them: the public headers only (include/, not lib/), linked with
# libcnbd.so (found beside them in the build tree through the rpath).
EXAMPLES := $(B)/examples/ramdisk $(B)/examples/copy $(B)/examples/attach

$(B)/examples/%.o: CPPFLAGS = -D_GNU_SOURCE -Iinclude

$(B)/examples/%: $(B)/examples/%.o $(LIBCNBD_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -L$(B) -lcnbd -Wl,-rpath,'$$ORIGIN/..'

all: $(EXAMPLES)
.SECONDARY: $(EXAMPLES:%=%.o)
