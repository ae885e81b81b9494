#!/bin/bash
# libcnbd-dev as a user of it sees it: unpacked (with libcnbd0 and
# cnbd-server) into a root of its own, its pkg-config files name that
# root's headers and libraries; the example it ships builds from them
# alone, against libcnbd.so.0 and against libcnbd.a, and each build serves
# (nbdinfo reads its export); backend.h compiles on its own; and
# cnbd-backend's backenddir is where cnbd-server ships its backends and
# what the packaged nbd-serverd loads from by default.
. "$(dirname "$0")/../lib/common.sh"

need dpkg-deb pkg-config cc nbdinfo
debs=${CNBD_DEBS:-$CNBD_SRC/build/deb}
cnbd_tmpdir
root=$tmp/root
for p in libcnbd-dev libcnbd0 cnbd-server; do
	compgen -G "$debs/${p}_*.deb" >/dev/null || fail "no $p package in $debs (make deb)"
	dpkg-deb -x "$(ls "$debs/${p}"_*.deb)" "$root" || fail "dpkg-deb -x of $p failed"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=$root/usr/lib/$multiarch
# The root's .pc files first; the libraries cnbd.pc requires are this
# machine's (their -I and -L under the root name nothing, harmlessly).
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$lib/pkgconfig

cflags=$(pkg-config --cflags cnbd-backend)
[ "${cflags% }" = "-I$root/usr/include" ] ||
	fail "cnbd-backend's cflags: $cflags"
echo '#include <cnbd/backend.h>' | cc -fsyntax-only -Werror $cflags -x c - ||
	fail "cnbd/backend.h does not compile with cnbd-backend's flags"
backenddir=$(pkg-config --variable=backenddir cnbd-backend)
[ "$backenddir" = "$root/usr/lib/$multiarch/cnbd/backends" ] || fail "backenddir is $backenddir"
[ -f "$backenddir/file.so" ] || fail "cnbd-server has no file.so in ${backenddir#"$root"}"
"$root/usr/sbin/nbd-serverd" --help | grep -F "(default ${backenddir#"$root"})" >/dev/null ||
	fail "the packaged nbd-serverd does not load from ${backenddir#"$root"} by default"

# The shipped example, built with nothing but the package's files: with
# the shared library, and with the archive (the libraries cnbd.pc
# requires stay shared: a wholly static link needs every one's .a).
ex=$root/usr/share/doc/libcnbd-dev/examples/ramdisk.c
[ -f "$ex" ] || fail "libcnbd-dev ships no examples/ramdisk.c"
# shellcheck disable=SC2046
cc -o "$tmp/ramdisk-shared" "$ex" $(pkg-config --cflags --libs cnbd) ||
	fail "the example does not build with cnbd's flags: $(pkg-config --cflags --libs cnbd)"
# (ldd's output held whole: grep -q ending the pipe early fails it.)
libs=$(LD_LIBRARY_PATH=$lib ldd "$tmp/ramdisk-shared")
grep -q "libcnbd.so.0 => $lib/libcnbd.so.0" <<<"$libs" ||
	fail "the example does not use libcnbd0's library: $libs"
# shellcheck disable=SC2046
cc -o "$tmp/ramdisk-static" "$ex" $(pkg-config --cflags cnbd) "$lib/libcnbd.a" \
	$(pkg-config --libs $(pkg-config --print-requires-private cnbd)) -ldl -pthread ||
	fail "the example does not build with libcnbd.a"
libs=$(ldd "$tmp/ramdisk-static")
! grep -q libcnbd <<<"$libs" || fail "the static build needs libcnbd.so: $libs"

for build in shared static; do
	port=$(free_port)
	LD_LIBRARY_PATH=$lib "$tmp/ramdisk-$build" "127.0.0.1:$port" 16M >"$tmp/ramdisk.log" 2>&1 &
	kill_on_exit $!
	size=
	for _ in $(seq 1 50); do
		size=$(nbdinfo --size "nbd://127.0.0.1:$port/ram" 2>/dev/null) && break
		sleep 0.1
	done
	[ "$size" = $((16 << 20)) ] ||
		fail "the $build example's export: ${size:-none}: $(cat "$tmp/ramdisk.log")"
done
log "ok"
