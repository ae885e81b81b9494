#!/bin/bash
# The records nbd-clientd keeps of the devices it bound with netlink
# (RUNDIR/devices/nbdN, docs/client.md "A daemon that dies"), without a
# kernel device: what a starting daemon does with records it must not
# take over. A damaged record and one the kernel does not match (nbd999
# exists on no host) are each removed with a line saying why; records in
# a directory others can write are not read at all, and stay. Taking a
# device over is tested in the VM (tests/kernel/cases/client_netlink_adopt.sh).
. "$(dirname "$0")/../lib/common.sh"

[ "$(id -u)" = 0 ] || fail "needs root (nbd-clientd runs as root)"
CLIENTD=$CNBD_BUILD/nbd-clientd
NBDCTL=$CNBD_BUILD/nbdctl
[ -x "$CLIENTD" ] && [ -x "$NBDCTL" ] || fail "nbd-clientd or nbdctl is not built"
cnbd_tmpdir
run=$tmp/run
sock=$run/clientd.sock
records=$run/devices
daemon_pid=
stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=
}
trap 'rc=$?; stop_daemon; (exit $rc); _cnbd_cleanup' EXIT

# start_daemon LOG: runs nbd-clientd until its control socket answers.
start_daemon() {
	"$CLIENTD" -f -M -v -c /dev/null -s "$sock" 2> "$1" &
	daemon_pid=$!
	for _ in $(seq 1 100); do
		"$NBDCTL" --socket "$sock" list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "nbd-clientd did not answer: $(cat "$1")"
}

record() {	# record NAME URI: a record as the daemon writes one
	cat > "$records/$1" <<REC
; nbd-clientd: $1 as it was attached, for a restarted daemon to take over
spec = $1
uri = $2
connections = 1
readonly = 0
timeout = 30
dead-timeout = 120
size = 1073741824
blksize = 4096
flags = 3437
export = disk
from-config = 0
REC
}

mkdir -p "$records"
chmod 700 "$records"
record nbd999 nbd://127.0.0.1/disk
printf 'spec = nbd998\nuri = nbd://h/d\nconnections = lots\n' > "$records/nbd998"
: > "$records/not-a-device"

start_daemon "$tmp/log1"
"$NBDCTL" --socket "$sock" list > "$tmp/list"
stop_daemon
grep -q "nbd999: not taking it over: the kernel no longer has it attached to nbd://127.0.0.1/disk" "$tmp/log1" ||
	fail "no reason given for the unmatched record: $(cat "$tmp/log1")"
grep -q "nbd998: not taking it over: $records/nbd998 is damaged" "$tmp/log1" ||
	fail "no reason given for the damaged record: $(cat "$tmp/log1")"
[ ! -e "$records/nbd999" ] || fail "the unmatched record was kept"
[ ! -e "$records/nbd998" ] || fail "the damaged record was kept"
[ -e "$records/not-a-device" ] || fail "a file that is no device's record was removed"
grep -q nbd99 "$tmp/list" && fail "nbdctl list shows a device that was not taken over: $(cat "$tmp/list")"

# Records hold any URI the grammar allows, however long (here 6 KiB of
# escaped export name), and values escaped as \xHH: such a record is read
# whole and judged on what it says. A record that repeats a key was not
# written by the daemon: damaged.
long="nbd://127.0.0.1/$(head -c 2048 /dev/zero | tr '\0' 'x' | sed 's/x/%20/g')"
record nbd997 "$long"
record nbd996 'nbd://127.0.0.1/a\x5cb'
record nbd995 nbd://127.0.0.1/disk
echo 'uri = nbd://127.0.0.1/other' >> "$records/nbd995"
start_daemon "$tmp/log3"
stop_daemon
# (the log line itself is cut to its bound; the record was read whole, or
# it would be "damaged")
grep -qF "nbd997: not taking it over: the kernel no longer has it attached to ${long:0:200}" "$tmp/log3" ||
	fail "a record with a ${#long}-byte URI was not read whole: $(cut -c1-300 "$tmp/log3")"
grep -qF 'nbd996: not taking it over: the kernel no longer has it attached to nbd://127.0.0.1/a\b' "$tmp/log3" ||
	fail "an escaped value was not read back: $(cat "$tmp/log3")"
grep -q "nbd995: not taking it over: $records/nbd995 is damaged: line 13 repeats uri" "$tmp/log3" ||
	fail "a record repeating a key was believed: $(cat "$tmp/log3")"
[ -z "$(ls "$records")" ] || [ "$(ls "$records")" = not-a-device ] ||
	fail "records left: $(ls "$records")"

# A directory others may write is not believed: nothing read, nothing removed.
record nbd999 nbd://127.0.0.1/disk
chmod 777 "$records"
start_daemon "$tmp/log2"
stop_daemon
grep -q "$records is not a directory that only root can write: no device taken over" "$tmp/log2" ||
	fail "no warning for a world-writable record directory: $(cat "$tmp/log2")"
[ -e "$records/nbd999" ] || fail "a record in an untrusted directory was acted on"
log "ok"
