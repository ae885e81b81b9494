# lib/embed/: The embedded server (<cnbd/server.h>): a listener and an export table
# around the engine, for programs that serve their own data. Uses
# common/, proto/, backend/, engine/.
LIB_SRCS += $(wildcard lib/embed/*.c)
