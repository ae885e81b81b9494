#!/bin/bash
# The attack of issue 11, point 1: a user who owns a directory above
# backend-dir swaps it with one holding their own .so, in a loop
# (renameat2(RENAME_EXCHANGE)), while root starts nbd-serverd. Checking
# with stat() and loading by name lost this race in 3 starts of 5. Now
# the path is walked from / on descriptors and the .so loaded is the file
# checked, so:
#   1. user-owned parent: every start is refused, naming that parent, and
#      none loads the user's .so (it would write a marker file as root);
#   2. the same below a sticky world-writable root directory (like /tmp):
#      refused too, naming the user's directory, not the sticky one;
#   3. root-owned directories in a sticky world-writable directory: the
#      user cannot swap them (the sticky bit), every start is accepted
#      and loads the real backend.
# Each start runs only until it refuses or listens.
. "$(dirname "$0")/../lib/common.sh"

[ "$(id -u)" = 0 ] || fail "must run as root (CI runs as root): the attack needs root and another user"
need cc
need setpriv
cnbd_tmpdir
SECONDS=0

marker=$tmp/evil-ran-as-root

# The user's .so: loading it, as a backend or not, leaves the marker.
cat >"$tmp/evil.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	int fd = open("$marker", O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (fd >= 0) {
		(void)write(fd, "x", 1);
		close(fd);
	}
}
EOF
cc -shared -fPIC -o "$tmp/evil.so" "$tmp/evil.c" || fail "cannot build the evil .so"

# The user's loop: exchange A and B until TERM; then it prints the
# number of exchanges done and refused.
cat >"$tmp/swap.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	unsigned long done = 0, refused = 0;

	if (argc != 3)
		return 2;
	signal(SIGTERM, on_term);
	while (!stop) {
		if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) == 0)
			done++;
		else
			refused++;
	}
	printf("%lu %lu\n", done, refused);
	return fflush(stdout) ? 1 : 0;
}
EOF
cc -O2 -o "$tmp/swap" "$tmp/swap.c" || fail "cannot build the swap loop"

port=$(free_port)
SWAP_PID=

# make_backend DIR: a backend directory root would accept (root's, 0755)
# holding the real memory.so.
make_backend() {
	mkdir "$1"
	cp "$CNBD_BUILD/backends/memory.so" "$1/memory.so"
	chmod 755 "$1" "$1/memory.so"
}

# make_evil DIR OWNER: the user's directory with their .so as memory.so.
make_evil() {
	mkdir "$1"
	cp "$tmp/evil.so" "$1/memory.so"
	chmod 755 "$1" "$1/memory.so"
	chown -R "$2" "$1"
}

write_conf() {
	cat >"$2" <<CONF
[server]
listen = 127.0.0.1:$port
backend-dir = $1
user = nobody
control = off

[disk]
backend = memory
size = 1M
CONF
}

start_swapper() {
	rm -f "$tmp/counts"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$tmp/swap" "$1" "$2" >"$tmp/counts" &
	SWAP_PID=$!
}

# stop_swapper: sets COUNTS to "DONE REFUSED".
stop_swapper() {
	local i
	kill -TERM "$SWAP_PID"
	wait "$SWAP_PID" || fail "the swap loop failed"
	SWAP_PID=
	for i in $(seq 1 50); do
		[ -s "$tmp/counts" ] && break
		sleep 0.1
	done
	COUNTS=$(cat "$tmp/counts")
}

# The loop must not outlive the test; the exit status must survive it.
race_exit() {
	local rc=$?
	[ -z "$SWAP_PID" ] || kill -TERM "$SWAP_PID" 2>/dev/null || true
	(exit $rc)
	_cnbd_cleanup
}
trap race_exit EXIT

# one_start CONF: runs nbd-serverd until it exits (prints "refused" and
# keeps its stderr in $tmp/start.err) or says it is ready ("listened",
# then stopped).
one_start() {
	local pid i
	: >"$tmp/start.err"
	"$SERVERD" -f -c "$1" 2>"$tmp/start.err" >/dev/null &
	pid=$!
	for i in $(seq 1 500); do
		if grep -q "workers run as" "$tmp/start.err"; then
			kill -TERM "$pid"
			wait "$pid" || true
			echo listened
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			if wait "$pid"; then
				fail "nbd-serverd exited 0 at start-up: $(cat "$tmp/start.err")"
			fi
			echo refused
			return 0
		fi
		sleep 0.01
	done
	kill -KILL "$pid"
	fail "nbd-serverd neither refused nor listened within 5 s: $(cat "$tmp/start.err")"
}

# race CONF N WANT PATTERN: N starts while the loop runs; each must end
# as WANT (refused or listened); a refusal must match PATTERN. Prints
# how many starts refused and listened.
race() {
	local conf=$1 n=$2 want=$3 pattern=$4 i got refused=0 listened=0
	for i in $(seq 1 "$n"); do
		got=$(one_start "$conf")
		[ "$got" = "$want" ] ||
			fail "start $i of $n: $got, want $want: $(cat "$tmp/start.err")"
		if [ "$got" = refused ]; then
			refused=$((refused + 1))
			grep -qE -- "$pattern" "$tmp/start.err" ||
				fail "start $i: the refusal does not say /$pattern/: $(cat "$tmp/start.err")"
		else
			listened=$((listened + 1))
		fi
		[ ! -e "$marker" ] || fail "start $i of $n loaded the user's .so as root"
	done
	echo "$refused $listened"
}

# 1. A parent owned by the user, who swaps backends and evil under it.
mkdir "$tmp/u"
make_backend "$tmp/u/backends"
make_evil "$tmp/u/evil" nobody
chmod 755 "$tmp/u"
chown nobody "$tmp/u"
write_conf "$tmp/u/backends" "$tmp/u.conf"
start_swapper "$tmp/u/backends" "$tmp/u/evil"
result=$(race "$tmp/u.conf" 300 refused \
	"$tmp/u.conf:7: export 'disk': $tmp/u/backends/memory.so: $tmp/u is owned by uid $(id -u nobody), not root")
stop_swapper
log "user-owned parent: 300 starts, refused/listened: $result; exchanges done/failed: $COUNTS"
[ "${COUNTS%% *}" -gt 0 ] || fail "the user's loop never swapped the directories: $COUNTS"

# 2. The same one level down, below a sticky world-writable directory:
# the sticky one passes, the user's directory below it does not.
mkdir "$tmp/sticky"
chmod 1777 "$tmp/sticky"
mkdir "$tmp/sticky/u"
make_backend "$tmp/sticky/u/backends"
make_evil "$tmp/sticky/u/evil" nobody
chmod 755 "$tmp/sticky/u"
chown nobody "$tmp/sticky/u"
write_conf "$tmp/sticky/u/backends" "$tmp/sticky-u.conf"
start_swapper "$tmp/sticky/u/backends" "$tmp/sticky/u/evil"
result=$(race "$tmp/sticky-u.conf" 150 refused \
	"memory.so: $tmp/sticky/u is owned by uid $(id -u nobody), not root")
stop_swapper
log "user-owned directory below a sticky one: 150 starts, refused/listened: $result; exchanges done/failed: $COUNTS"
[ "${COUNTS%% *}" -gt 0 ] || fail "the user's loop never swapped the directories: $COUNTS"

# 3. Root's backend directory directly in the sticky directory, the
# user's evil one beside it: the sticky bit forbids the exchange, and
# the start is accepted (a sticky ancestor is allowed) with the real
# backend.
make_backend "$tmp/sticky/backends"
make_evil "$tmp/sticky/evil" nobody
write_conf "$tmp/sticky/backends" "$tmp/sticky.conf"
start_swapper "$tmp/sticky/backends" "$tmp/sticky/evil"
result=$(race "$tmp/sticky.conf" 60 listened "")
stop_swapper
log "root's directory in a sticky one: 60 starts, refused/listened: $result; exchanges done/failed: $COUNTS"
[ "${COUNTS%% *}" = 0 ] || fail "the user exchanged root's directory in a sticky directory: $COUNTS"
[ "${COUNTS##* }" -gt 0 ] || fail "the user's loop did not run: $COUNTS"

[ ! -e "$marker" ] || fail "the user's .so was loaded as root"
log "ok in ${SECONDS}s"
