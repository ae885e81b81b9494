# Example programs built on libcnbd's public headers only.
EXAMPLES := $(B)/examples/ramdisk $(B)/examples/attach

$(B)/examples/%: $(B)/examples/%.o $(LIBCNBD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBCNBD) $(LIB_LIBS)

all: $(EXAMPLES)
