#!/bin/bash
# Run as root, nbd-serverd refuses to load code or read configuration
# from a place someone else could write to. Every component of the path,
# from /, must be owned by root and not writable by group or others (a
# sticky directory such as /tmp above the last one excepted), and none may
# be a symbolic link. Checked: the backend .so and every directory above
# it, the configuration file, exports-dir and its files, the TLS files.
# Each refusal names the path, the component and why, names the config
# line where the config names the path, and exits 1 before listening. An
# unknown user = is refused too. The same files, made safe, are accepted,
# and a reload walks the backend's path again.
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
refuse_start "$conf" "$conf:6: export 'disk': $dir/memory.so: $dir is writable by group or others \(mode 0777\)"
chmod 775 "$dir"
refuse_start "$conf" "$dir/memory.so: $dir is writable by group or others \(mode 0775\)"
chmod 755 "$dir"

# A .so its group may rewrite.
chmod 775 "$dir/memory.so"
refuse_start "$conf" "$dir/memory.so is writable by group or others \(mode 0775\)"
chmod 755 "$dir/memory.so"

# Owned by someone else.
chown nobody "$dir"
refuse_start "$conf" "$dir/memory.so: $dir is owned by uid $(id -u nobody), not root"
chown root "$dir"
chown nobody "$dir/memory.so"
refuse_start "$conf" "$dir/memory.so is owned by uid $(id -u nobody), not root"
chown root "$dir/memory.so"

nobody_uid=$(id -u nobody)

# A parent of the backend directory owned by someone else: they could
# swap the whole directory (the attack of issue 11).
mkdir -p "$tmp/p/backends"
cp "$dir/memory.so" "$tmp/p/backends/"
chmod 755 "$tmp/p" "$tmp/p/backends" "$tmp/p/backends/memory.so"
sed "s|^backend-dir = .*|backend-dir = $tmp/p/backends|" "$conf" >"$tmp/parent.conf"
chown nobody "$tmp/p"
refuse_start "$tmp/parent.conf" \
	"$tmp/parent.conf:6: export 'disk': $tmp/p/backends/memory.so: $tmp/p is owned by uid $nobody_uid, not root"
chown root "$tmp/p"
chmod 757 "$tmp/p"
refuse_start "$tmp/parent.conf" "$tmp/p/backends/memory.so: $tmp/p is writable by group or others \(mode 0757\)"
chmod 755 "$tmp/p"

# A symbolic link anywhere on the way, even a root-owned one.
ln -s p "$tmp/plink"
sed "s|^backend-dir = .*|backend-dir = $tmp/plink/backends|" "$conf" >"$tmp/link.conf"
refuse_start "$tmp/link.conf" \
	"$tmp/link.conf:6: export 'disk': $tmp/plink/backends/memory.so: $tmp/plink is a symbolic link"
mv "$tmp/p/backends/memory.so" "$tmp/p/backends/real.so"
ln -s real.so "$tmp/p/backends/memory.so"
refuse_start "$tmp/parent.conf" "$tmp/p/backends/memory.so is a symbolic link"
rm "$tmp/p/backends/memory.so"
mv "$tmp/p/backends/real.so" "$tmp/p/backends/memory.so"

# The configuration file: someone else's, writable by its group, or in
# a directory someone else owns.
mkdir "$tmp/etc"
chmod 755 "$tmp/etc"
cp "$conf" "$tmp/etc/server.conf"
chmod 644 "$tmp/etc/server.conf"
chown nobody "$tmp/etc/server.conf"
refuse_start "$tmp/etc/server.conf" "$tmp/etc/server.conf is owned by uid $nobody_uid, not root"
chown root "$tmp/etc/server.conf"
chmod 664 "$tmp/etc/server.conf"
refuse_start "$tmp/etc/server.conf" "$tmp/etc/server.conf is writable by group or others \(mode 0664\)"
chmod 644 "$tmp/etc/server.conf"
chown nobody "$tmp/etc"
refuse_start "$tmp/etc/server.conf" "$tmp/etc/server.conf: $tmp/etc is owned by uid $nobody_uid, not root"
# A relative -c is walked from / too, through the working directory.
(cd "$tmp/etc" && refuse_start server.conf "$tmp/etc/server.conf: $tmp/etc is owned by uid $nobody_uid, not root")
chown root "$tmp/etc"

# exports-dir and each file in it.
mkdir "$tmp/exports.d"
chmod 755 "$tmp/exports.d"
printf '[more]\nbackend = memory\nsize = 1M\n' >"$tmp/exports.d/more.conf"
chmod 644 "$tmp/exports.d/more.conf"
sed "s|^user = nobody$|user = nobody\nexports-dir = $tmp/exports.d|" "$conf" >"$tmp/dropin.conf"
chmod 646 "$tmp/exports.d/more.conf"
refuse_start "$tmp/dropin.conf" "$tmp/exports.d/more.conf is writable by group or others \(mode 0646\)"
chmod 644 "$tmp/exports.d/more.conf"
chmod 777 "$tmp/exports.d"
refuse_start "$tmp/dropin.conf" \
	"$tmp/dropin.conf:5: exports-dir $tmp/exports.d is writable by group or others \(mode 0777\)"
chmod 755 "$tmp/exports.d"
chown nobody "$tmp/exports.d"
refuse_start "$tmp/dropin.conf" "exports-dir $tmp/exports.d is owned by uid $nobody_uid, not root"
chown root "$tmp/exports.d"

# A TLS file: the PSK file writable by its group, a certificate
# directory someone else owns.
printf 'alice:000102030405060708090a0b0c0d0e0f\n' >"$tmp/keys.psk"
chmod 664 "$tmp/keys.psk"
sed "s|^user = nobody$|user = nobody\ntls = on\ntls-psk-file = $tmp/keys.psk|" "$conf" >"$tmp/psk.conf"
refuse_start "$tmp/psk.conf" \
	"$tmp/psk.conf:6: tls-psk-file: $tmp/keys.psk is writable by group or others \(mode 0664\)"
chmod 600 "$tmp/keys.psk"
mkdir "$tmp/pki"
: >"$tmp/pki/server-cert.pem"
: >"$tmp/pki/server-key.pem"
chmod 644 "$tmp/pki/server-cert.pem" "$tmp/pki/server-key.pem"
chown nobody "$tmp/pki"
sed "s|^user = nobody$|user = nobody\ntls = on\ntls-certificates = $tmp/pki|" "$conf" >"$tmp/x509.conf"
refuse_start "$tmp/x509.conf" \
	"$tmp/x509.conf:6: tls-certificates: $tmp/pki/server-cert.pem: $tmp/pki is owned by uid $nobody_uid, not root"

# Nothing was left listening by the refused starts.
if _cnbd_probe "127.0.0.1:$port"; then
	fail "something listens on $port after refused starts"
fi

# A user that does not exist, named explicitly.
sed 's/^user = nobody$/user = cnbd-no-such-user/' "$conf" >"$tmp/nouser.conf"
refuse_start "$tmp/nouser.conf" "user 'cnbd-no-such-user' does not exist"

# The same files, safe now, are accepted: the backend, the drop-in and
# the PSK file.
sed "s|^user = nobody$|user = nobody\ntls = on\ntls-psk-file = $tmp/keys.psk\nexports-dir = $tmp/exports.d\ncontrol = off|" \
	"$tmp/etc/server.conf" >"$tmp/etc/all.conf"
chmod 644 "$tmp/etc/all.conf"
start_server "$tmp/etc/all.conf"
nbdinfo "nbd://127.0.0.1:$port/disk" >/dev/null || fail "nbdinfo against the accepted server failed"
nbdinfo "nbd://127.0.0.1:$port/more" >/dev/null || fail "the drop-in export is not served"

# A reload walks the backend's path again, though the backend is loaded:
# with its directory writable by others, the new export is refused.
printf '[again]\nbackend = memory\nsize = 1M\n' >"$tmp/exports.d/again.conf"
chmod 777 "$dir"
kill -HUP "$SERVER_PID"
for i in $(seq 1 50); do
	grep -q "$dir/memory.so: $dir is writable by group or others (mode 0777)" "$tmp/server.log" && break
	sleep 0.1
done
grep -q "$dir/memory.so: $dir is writable by group or others (mode 0777)" "$tmp/server.log" ||
	fail "the reload did not walk the backend's path again: $(tail -n 5 "$tmp/server.log")"
server_alive
nbdinfo "nbd://127.0.0.1:$port/again" >/dev/null 2>&1 && fail "the export of the refused reload is served"
chmod 755 "$dir"
log "ok"
