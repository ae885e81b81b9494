#!/bin/bash
# Listing exports through the public client API (cnbd_client_list_exports),
# from a program built against the installed library: the names and
# descriptions must be the ones nbdinfo --list (libnbd) reads from the
# same server: nbd-serverd with three exports (one description with inner
# runs of spaces and UTF-8, one export with none), nbd-server (allowlist),
# qemu-nbd (-x, -D) and nbdkit (only its default export).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/client_api.sh"

need nbdkit nbd-server qemu-nbd nbdinfo python3
cnbd_tmpdir
client_api_build

# same_list PEER URI COUNT
same_list() {
	tool "$2" list >"$tmp/ours" || fail "$1: list: $(cat "$tmp/ours")"
	nbdinfo --list --json "$2" >"$tmp/theirs.json" || fail "$1: nbdinfo --list failed"
	python3 - "$tmp/theirs.json" "$tmp/ours" "$3" <<'PY' || fail "$1: the API lists other exports than nbdinfo"
import json, sys
theirs = sorted((e["export-name"], e.get("description", ""))
                for e in json.load(open(sys.argv[1]))["exports"])
ours = sorted(tuple(l.rstrip("\n").split("\t", 1)) for l in open(sys.argv[2], encoding="utf-8"))
assert ours == theirs, (ours, theirs)
assert len(ours) == int(sys.argv[3]), ours
PY
	log "$1: $(wc -l <"$tmp/ours") exports, as nbdinfo lists them"
}

port=$(free_port)
write_config "$tmp/serverd.conf" "$port" alpha backend=memory size=1M "description=the first one"
add_export "$tmp/serverd.conf" beta backend=memory size=2M "description=  spaced  out, é and ü  "
add_export "$tmp/serverd.conf" gamma backend=null size=1M
start_server "$tmp/serverd.conf"
same_list nbd-serverd "nbd://127.0.0.1:$port/" 3
grep -qx "alpha	the first one" "$tmp/ours" || fail "nbd-serverd: alpha's description: $(cat "$tmp/ours")"
# The handle is not connected after a list: the export part is ignored.
same_list nbd-serverd "nbd://127.0.0.1:$port/alpha" 3
server_alive

truncate -s 1M "$tmp/a.img" "$tmp/b.img"
start_nbd_server "one=$tmp/a.img" "two=$tmp/b.img"
same_list nbd-server "nbd://127.0.0.1:$NBD_SERVER_PORT/" 2

qemu-nbd -f raw -x vm -D "a qemu disk" -k "$tmp/qemu.sock" --persistent "$tmp/a.img" \
	>"$tmp/qemu.log" 2>&1 &
kill_on_exit $!
wait_unix "$tmp/qemu.sock"
same_list qemu-nbd "nbd+unix:///?socket=$tmp/qemu.sock" 1

nbdkit -f -U "$tmp/nbdkit.sock" memory 1M >"$tmp/nbdkit.log" 2>&1 &
kill_on_exit $!
wait_unix "$tmp/nbdkit.sock"
same_list nbdkit "nbd+unix:///?socket=$tmp/nbdkit.sock" 1
log "ok"
