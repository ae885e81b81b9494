#!/bin/bash
# make install-server puts the program, man page, systemd units and example
# configuration where PREFIX/SYSCONFDIR say; systemd-analyze accepts the
# units (and rates the service as docs/server.md says), man renders the
# page without warnings, and the installed program starts from the
# installed example (with its own backend dir and port).
. "$(dirname "$0")/../lib/common.sh"

need make systemd-analyze man nbdinfo
cnbd_tmpdir

san=
case "$CNBD_BUILD" in */asan) san=SANITIZE=1 ;; esac
prefix=$tmp/usr
make -s -C "$CNBD_SRC" $san install-server PREFIX="$prefix" SYSCONFDIR="$tmp/etc" \
	>"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install-server failed"; }

bin=$prefix/sbin/nbd-serverd
unit=$prefix/lib/systemd/system/nbd-serverd.service
socket_unit=$prefix/lib/systemd/system/nbd-serverd.socket
for f in "$bin" "$prefix/share/man/man8/nbd-serverd.8" "$unit" "$socket_unit" \
	 "$tmp/etc/cnbd/nbd-serverd.conf.example"; do
	[ -f "$f" ] || fail "not installed: $f"
done
[ -x "$bin" ] || fail "$bin is not executable"
grep -qx "ExecStart=$bin -f" "$unit" || fail "ExecStart does not name $bin -f: $(grep ExecStart "$unit")"

# MANPATH: verify also checks that Documentation=man:nbd-serverd(8) exists.
export MANPATH=$prefix/share/man:
unit_checks "$unit" "$CNBD_SRC/docs/server.md"
unit_checks "$socket_unit" "$CNBD_SRC/docs/server.md"
grep -qx "Type=notify" "$unit" || fail "the unit is not Type=notify"
unset MANPATH

LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$prefix/share/man/man8/nbd-serverd.8" \
	>"$tmp/man.txt" 2>"$tmp/man.err" || fail "man failed: $(cat "$tmp/man.err")"
[ ! -s "$tmp/man.err" ] || fail "man warnings: $(cat "$tmp/man.err")"
for k in listen unix-mode user backend-dir default-export handshake-timeout pidfile \
	 backend description readonly min-block-size preferred-block-size max-block-size \
	 max-connections SIGTERM SIGHUP LISTEN_FDS nbd-serverd.socket JOURNAL_STREAM; do
	grep -q -- "$k" "$tmp/man.txt" || fail "the man page does not mention $k"
done

# The installed example, pointed at a free port and the built backends.
port=$(free_port)
sed -e "s/^listen = 127.0.0.1:10809$/listen = 127.0.0.1:$port/" \
    -e "s/^user = nbd$/user = nobody/" \
    "$tmp/etc/cnbd/nbd-serverd.conf.example" >"$tmp/server.conf"
echo "backend-dir = $CNBD_BUILD/backends" >"$tmp/extra"
sed -i "/^\[server\]$/r $tmp/extra" "$tmp/server.conf"
SERVERD=$bin start_server "$tmp/server.conf"
[ "$(nbdinfo --size "nbd://127.0.0.1:$port/default")" = 1073741824 ] ||
	fail "the example's default export is not 1 GiB"
log "ok"
