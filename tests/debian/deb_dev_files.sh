#!/bin/bash
# libcnbd-dev as a user of it sees it: unpacked (with cnbd-server) into a
# root of its own, its pkg-config files name that root's headers and
# static library; the example it ships builds from them alone and serves
# (nbdinfo reads its export); backend.h compiles on its own; and
# cnbd-backend's backenddir is where cnbd-server ships its backends and
# what the packaged nbd-serverd loads from by default.
. "$(dirname "$0")/../lib/common.sh"

need dpkg-deb pkg-config cc nbdinfo
debs=${CNBD_DEBS:-$CNBD_SRC/build/deb}
compgen -G "$debs/libcnbd-dev_*.deb" >/dev/null && compgen -G "$debs/cnbd-server_*.deb" >/dev/null ||
	fail "no libcnbd-dev or cnbd-server package in $debs (make deb)"
cnbd_tmpdir
root=$tmp/root
for d in "$debs"/libcnbd-dev_*.deb "$debs"/cnbd-server_*.deb; do
	dpkg-deb -x "$d" "$root" || fail "dpkg-deb -x $d failed"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/usr/lib/$multiarch/pkgconfig

cflags=$(pkg-config --cflags cnbd-backend)
[ "${cflags% }" = "-I$root/usr/include" ] ||
	fail "cnbd-backend's cflags: $cflags"
echo '#include <cnbd/backend.h>' | cc -fsyntax-only -Werror $cflags -x c - ||
	fail "cnbd/backend.h does not compile with cnbd-backend's flags"
backenddir=$(pkg-config --variable=backenddir cnbd-backend)
[ "$backenddir" = "$root/usr/lib/$multiarch/cnbd/backends" ] || fail "backenddir is $backenddir"
[ -f "$backenddir/file.so" ] || fail "cnbd-server has no file.so in ${backenddir#"$root"}"
"$root/usr/sbin/nbd-serverd" --help | grep -qF "(default ${backenddir#"$root"})" ||
	fail "the packaged nbd-serverd does not load from ${backenddir#"$root"} by default"

# The shipped example, built with nothing but the package's files.
ex=$root/usr/share/doc/libcnbd-dev/examples/ramdisk.c
[ -f "$ex" ] || fail "libcnbd-dev ships no examples/ramdisk.c"
# shellcheck disable=SC2046
cc -o "$tmp/ramdisk" "$ex" $(pkg-config --cflags --libs --static cnbd) ||
	fail "the example does not build with cnbd's flags: $(pkg-config --cflags --libs cnbd)"
port=$(free_port)
"$tmp/ramdisk" "127.0.0.1:$port" 16M >"$tmp/ramdisk.log" 2>&1 &
kill_on_exit $!
for i in $(seq 1 50); do
	size=$(nbdinfo --size "nbd://127.0.0.1:$port/ram" 2>/dev/null) && break
	sleep 0.1
done
[ "${size:-}" = $((16 << 20)) ] || fail "the example's export: ${size:-none}: $(cat "$tmp/ramdisk.log")"
log "ok"
