# Shared helpers for shell tests. Source it:
#   . "$(dirname "$0")/../lib/common.sh"
#
#   cnbd_tmpdir                  $tmp: a fresh directory, removed on exit
#                                (the exit trap also stops every server)
#   free_port                    prints a TCP port nobody listens on
#   write_server_config F LISTEN...   [server] section: each LISTEN is
#                                host:port or unix:/path; backend-dir is
#                                $CNBD_BUILD/backends; user = nobody as root;
#                                control = $SERVER_CONTROL, or off
#   add_export F NAME key=value...    appends an [NAME] export section
#   write_config F PORT NAME key=value...   both in one go
#   start_server F               runs nbd-serverd -f -c F, waits until its
#                                first listen address accepts; SERVER_PID
#   stop_server                  stops it (TERM, then KILL after 5 s)
#   server_alive                 fails unless the server still runs
#   remove_on_exit PATH          rm -rf PATH when the test ends
#   kill_on_exit PID             stop a peer server when the test ends
#   fail MSG                     prints MSG and the server log tail; exit 1
#   need TOOL...                 fails (never skips) when TOOL is missing
# Variables: CNBD_BUILD (absolute), CNBD_SRC, SERVERD, SERVER_PID, tmp.
set -euo pipefail

CNBD_SRC=${CNBD_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CNBD_BUILD=${CNBD_BUILD:-$CNBD_SRC/build}
case "$CNBD_BUILD" in /*) ;; *) CNBD_BUILD=$CNBD_SRC/$CNBD_BUILD ;; esac
export CNBD_SRC CNBD_BUILD
SERVERD=$CNBD_BUILD/nbd-serverd
SERVER_PID=
tmp=
_cnbd_server_pids=()
_cnbd_server_log=
_cnbd_remove=()

# Prints the test's name and a message on stderr.
log() {
	echo "$(basename "$0"): $*" >&2
}

fail() {
	echo "FAIL: $(basename "$0"): $*" >&2
	if [ -n "$_cnbd_server_log" ] && [ -s "$_cnbd_server_log" ]; then
		echo "--- last lines of $_cnbd_server_log:" >&2
		tail -n 40 "$_cnbd_server_log" >&2
	fi
	exit 1
}

need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			fail "required tool '$t' is not installed (a missing peer is a failure)"
	done
}

_cnbd_cleanup() {
	local rc=$? pid
	set +e
	for pid in "${_cnbd_server_pids[@]}"; do
		_cnbd_stop_pid "$pid"
	done
	for pid in "${_cnbd_remove[@]}"; do
		rm -rf "$pid"
	done
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		if [ $rc != 0 ] && [ -n "${CNBD_KEEP_TMP:-}" ]; then
			echo "keeping $tmp" >&2
		else
			rm -rf "$tmp"
		fi
	fi
	exit $rc
}

cnbd_tmpdir() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnbd-test.XXXXXX")
	# Workers drop to nobody: let them reach sockets and files in here.
	chmod 755 "$tmp"
	trap _cnbd_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

remove_on_exit() {
	_cnbd_remove+=("$1")
}

# A peer server the test started itself (nbdkit, qemu-nbd, ...): stopped
# at exit like ours.
kill_on_exit() {
	_cnbd_server_pids+=("$1")
}

free_port() {
	python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
'
}

write_server_config() {
	local f=$1 l
	shift
	{
		echo "[server]"
		for l in "$@"; do
			echo "listen = $l"
		done
		echo "backend-dir = $CNBD_BUILD/backends"
		# Never the system's /run/cnbd/serverd.sock: a test that wants
		# a control socket sets SERVER_CONTROL to a path of its own.
		echo "control = ${SERVER_CONTROL:-off}"
		if [ "$(id -u)" = 0 ]; then
			echo "user = nobody"
		fi
	} >"$f"
}

add_export() {
	local f=$1 name=$2 kv
	shift 2
	{
		echo
		echo "[$name]"
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >>"$f"
}

write_config() {
	local f=$1 port=$2 name=$3
	shift 3
	write_server_config "$f" "127.0.0.1:$port"
	add_export "$f" "$name" "$@"
}

# Can we connect to host:port or unix:/path?
_cnbd_probe() {
	python3 - "$1" <<'PY'
import socket, sys
a = sys.argv[1]
try:
    if a.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(1)
        s.connect(a[5:])
    else:
        host, port = a.rsplit(":", 1)
        s = socket.create_connection((host.strip("[]"), int(port)), timeout=1)
    s.close()
except OSError:
    sys.exit(1)
PY
}

start_server() {
	local conf=$1 addr i
	[ -n "$tmp" ] || cnbd_tmpdir
	[ -x "$SERVERD" ] || fail "$SERVERD is not built"
	addr=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*\([^;[:space:]]*\).*/\1/p' "$conf" | head -n 1)
	[ -n "$addr" ] || fail "start_server: no listen address in $conf"
	_cnbd_server_log=$tmp/server.log
	echo "=== $SERVERD -f -c $conf" >>"$_cnbd_server_log"
	"$SERVERD" -f -c "$conf" >>"$_cnbd_server_log" 2>&1 &
	SERVER_PID=$!
	_cnbd_server_pids+=("$SERVER_PID")
	export SERVER_PID
	for i in $(seq 1 100); do
		if ! _cnbd_running "$SERVER_PID"; then
			wait "$SERVER_PID" 2>/dev/null || true
			fail "nbd-serverd exited during start-up (config $conf)"
		fi
		if _cnbd_probe "$addr"; then
			return 0
		fi
		sleep 0.1
	done
	fail "nbd-serverd did not accept on $addr within 10 s"
}

# Is pid running (a dead child stays a zombie until waited for)?
# States are letters of either case: LeakSanitizer's exit check leaves
# the process in 't' (tracing stop) for a moment, and that is running.
_cnbd_running() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
	case $state in
	'' | Z | X | x) return 1 ;;	# gone, or a zombie not yet waited for
	*) return 0 ;;
	esac
}

_cnbd_stop_pid() {
	local pid=$1 i
	if ! _cnbd_running "$pid"; then
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		_cnbd_running "$pid" || break
		sleep 0.1
	done
	if _cnbd_running "$pid"; then
		echo "nbd-serverd $pid ignored SIGTERM for 5 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	_cnbd_stop_pid "$SERVER_PID"
	SERVER_PID=
}

server_alive() {
	[ -n "$SERVER_PID" ] && _cnbd_running "$SERVER_PID" ||
		fail "nbd-serverd (pid ${SERVER_PID:-none}) is no longer running"
}

# unit_checks UNIT DOC: what an installed unit must be. systemd-analyze
# verify accepts it (the caller sets MANPATH for Documentation=), each
# capability its CapabilityBoundingSet= keeps is named in a comment (its
# reason), and for a service systemd-analyze security rates it no worse
# than DOC says ("NAME at exposure N.N"), so that the figure stays true.
unit_checks() {
	local unit=$1 doc=$2 name want got
	name=$(basename "$unit")
	systemd-analyze verify "$unit" >"$tmp/verify" 2>&1 ||
		fail "systemd-analyze verify refused $name: $(cat "$tmp/verify")"
	if grep -v 'Failed to connect to bus\|Unit .* not found' "$tmp/verify" | grep -q "$name"; then
		fail "systemd-analyze verify complained about $name: $(cat "$tmp/verify")"
	fi
	for cap in $(sed -n 's/^CapabilityBoundingSet=//p' "$unit"); do
		grep -q "^#.*\b$cap\b" "$unit" || fail "$name keeps $cap without a comment saying why"
	done
	case $name in *.service) ;; *) return 0 ;; esac
	want=$(grep -o "$name at exposure [0-9.]*" "$doc" | head -1 | awk '{print $NF}')
	[ -n "$want" ] || fail "$doc records no exposure for $name"
	got=$(systemd-analyze security --offline=true "$unit" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	[ -n "$got" ] || fail "systemd-analyze security rated nothing for $name"
	awk -v g="$got" -v w="$want" 'BEGIN { exit !(g <= w) }' ||
		fail "systemd-analyze security rates $name $got, worse than the $want $doc records"
	log "$name: exposure $got ($doc: $want)"
}
