#!/bin/bash
# Run as root, nbd-serverd refuses to load code from a place someone else
# could write to: a backend directory or backend .so writable by group or
# others, or not owned by root. It says which file and why, names the
# config line of the export, and exits 1 before listening. An unknown
# user = is refused too. The same files, made safe, are accepted.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

[ "$(id -u)" = 0 ] || fail "must run as root (CI runs as root): the root-only checks cannot be tested otherwise"
need nbdinfo
cnbd_tmpdir

port=$(free_port)
dir=$tmp/backends
mkdir "$dir"
cp "$CNBD_BUILD/backends/memory.so" "$dir/"
chmod 755 "$dir" "$dir/memory.so"

conf=$tmp/server.conf
cat >"$conf" <<CONF
[server]
listen = 127.0.0.1:$port
backend-dir = $dir
user = nobody

[disk]
backend = memory
size = 1M
CONF

# A directory anyone may write to.
chmod 777 "$dir"
refuse_start "$conf" "$conf:6: export 'disk': $dir is writable by group or others \(mode 0777\)"
chmod 775 "$dir"
refuse_start "$conf" "$dir is writable by group or others \(mode 0775\)"
chmod 755 "$dir"

# A .so its group may rewrite.
chmod 775 "$dir/memory.so"
refuse_start "$conf" "$dir/memory.so is writable by group or others"
chmod 755 "$dir/memory.so"

# Owned by someone else.
chown nobody "$dir"
refuse_start "$conf" "$dir is owned by uid $(id -u nobody), not root"
chown root "$dir"
chown nobody "$dir/memory.so"
refuse_start "$conf" "$dir/memory.so is owned by uid $(id -u nobody), not root"
chown root "$dir/memory.so"

# Nothing was left listening by the refused starts.
if _cnbd_probe "127.0.0.1:$port"; then
	fail "something listens on $port after refused starts"
fi

# A user that does not exist, named explicitly.
sed 's/^user = nobody$/user = cnbd-no-such-user/' "$conf" >"$tmp/nouser.conf"
refuse_start "$tmp/nouser.conf" "user 'cnbd-no-such-user' does not exist"

# The same directory, safe now, is accepted.
start_server "$conf"
nbdinfo "nbd://127.0.0.1:$port/disk" >/dev/null || fail "nbdinfo against the accepted server failed"
log "ok"
