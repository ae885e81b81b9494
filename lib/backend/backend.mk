# lib/backend/: The backend host: loading a backend .so (after the trusted path walk),
# looking one up by name for a layer, packing an export's state to hand it
# to a worker. Uses common/ only.
LIB_SRCS += $(wildcard lib/backend/*.c)
