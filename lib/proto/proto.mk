# lib/proto/: The NBD protocol itself, for both halves: names of options, replies
# and commands, the NBD error <-> errno mapping, and the fixed-layout messages
# encoded and decoded (messages.h: options, requests, replies, chunks; inline).
# Uses common/ only.
LIB_SRCS += $(wildcard lib/proto/*.c)
