# libcnbd: wire code, both handshakes, the serving engine, parsing,
# logging. A static archive of PIC objects; programs that load backends
# export the host functions (cnbd_error, ...) to them with
# $(HOST_EXPORTS).
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIBCNBD  := $(B)/libcnbd.a
LIB_LIBS := -linih -ldl

HOST_EXPORTS := -Wl,--export-dynamic-symbol=cnbd_error \
	-Wl,--export-dynamic-symbol=cnbd_debug \
	-Wl,--export-dynamic-symbol=cnbd_parse_size \
	-Wl,--export-dynamic-symbol=cnbd_parse_bool \
	-Wl,--export-dynamic-symbol=cnbd_add_extent

$(LIBCNBD): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

all: $(LIBCNBD)
