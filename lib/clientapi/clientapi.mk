# lib/clientapi/: The public NBD client (<cnbd/client.h>, cnbd_client_*): a
# handle over clientlib's negotiation, with its own transmission: requests
# queued and sent without blocking, replies (simple and structured) read
# as they come and matched by cookie, any number in flight. Uses common/,
# proto/, clientlib/.
LIB_SRCS += $(wildcard lib/clientapi/*.c)
