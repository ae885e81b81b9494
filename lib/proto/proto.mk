# lib/proto/: The NBD protocol itself, for both halves: names of options, replies
# and commands, and the NBD error <-> errno mapping. Uses common/ only.
LIB_SRCS += $(wildcard lib/proto/*.c)
