# Fault-injection backends, for tests and for operators rehearsing
# failures (docs/hardening.md): faulty wraps another backend and fails or
# delays chosen requests; crashy crashes its worker on a chosen offset;
# hostile attacks from inside its worker on command (fork, kill, exec,
# open, flood the master: tests/interop/server_hostile_worker.py).
# Built like every backend (backends/backends.mk's pattern rules), but
# not installed: nothing in production should load them.

FAULT_BACKEND_NAMES := faulty crashy hostile
FAULT_BACKEND_SOS   := $(FAULT_BACKEND_NAMES:%=$(B)/backends/%.so)
BACKENDS            += $(FAULT_BACKEND_SOS)

# hostile speaks the worker's monitor protocol to the master, as a
# compromised worker would.
$(B)/backends/hostile.so: $(B)/server/monitor.o

.SECONDARY: $(FAULT_BACKEND_NAMES:%=$(B)/backends/%.o)
