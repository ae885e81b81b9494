# Helpers shared by the server_*.sh tests (sourced after common.sh).
#   hold_client URI FILE   connects with libnbd, writes 4 KiB of 0xa5 at
#                          offset 0, flushes, writes "ready" to FILE and
#                          stays connected; HOLD_PID is its pid
#   wait_file FILE         waits up to 10 s for FILE to exist
#   workers_of PID         prints the pids of PID's children
#   wait_worker PID        waits up to 10 s for one child; prints its pid
#   status_field PID KEY   the value of KEY in /proc/PID/status
#   cpu_ticks              CPU time (user + system, clock ticks) of the
#                          server started by start_server ($SERVER_PID)
HOLD_PID=

hold_client() {
	/usr/bin/python3 - "$1" "$2" <<'PY' &
import nbd, sys, time
h = nbd.NBD()
h.set_uri_allow_local_file(True)	# nbds://...?tls-certificates=DIR
h.connect_uri(sys.argv[1])
h.pwrite(b"\xa5" * 4096, 0)
h.flush()
with open(sys.argv[2], "w") as f:
    f.write("ready\n")
time.sleep(120)
PY
	HOLD_PID=$!
}

wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	fail "$1 did not appear within 10 s"
}

workers_of() {
	local f s ppid
	for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		# "pid (comm) state ppid ...": comm may hold anything but ")"
		read -r _ ppid _ <<<"${s##*) }"
		if [ "$ppid" = "$1" ]; then
			f=${f#/proc/}
			echo "${f%/stat}"
		fi
	done
}

cpu_ticks() {
	local s
	s=$(cat "/proc/$SERVER_PID/stat")
	read -r -a f <<<"${s##*) }"
	echo $((f[11] + f[12]))
}

wait_worker() {
	local i w
	for i in $(seq 1 100); do
		w=$(workers_of "$1" | head -n 1)
		if [ -n "$w" ]; then
			echo "$w"
			return 0
		fi
		sleep 0.1
	done
	fail "no worker of $1 appeared within 10 s"
}

status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

# refuse_start CONF PATTERN: nbd-serverd -f -c CONF must exit 1 within
# 10 s with a line matching PATTERN (grep -E) on stderr.
refuse_start() {
	local rc=0
	timeout 10 "$SERVERD" -f -c "$1" >"$tmp/refused.out" 2>"$tmp/refused.err" || rc=$?
	[ $rc = 1 ] || fail "nbd-serverd with $1 exited $rc, want 1; stderr: $(cat "$tmp/refused.err")"
	grep -qE -- "$2" "$tmp/refused.err" ||
		fail "nbd-serverd with $1 did not say /$2/; stderr: $(cat "$tmp/refused.err")"
}
