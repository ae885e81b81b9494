# libcnbd: wire code, both handshakes, the serving engine, parsing,
# logging. A static archive of PIC objects; programs that load backends
# export the host functions (cnbd_error, ...) to them with
# $(HOST_EXPORTS).
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIBCNBD  := $(B)/libcnbd.a
LIB_LIBS := -linih -ldl

# Backends call these host functions; nothing in the program itself may,
# so each is both forced out of the archive (-u) and exported.
HOST_SYMBOLS := cnbd_error cnbd_debug cnbd_parse_size cnbd_parse_bool cnbd_add_extent
HOST_EXPORTS := $(foreach s,$(HOST_SYMBOLS),-Wl,-u,$(s) -Wl,--export-dynamic-symbol=$(s))

$(LIBCNBD): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

all: $(LIBCNBD)
