#!/bin/bash
# libcnbd as a third party gets it: `make install-lib` into a staging
# root, then a program built from one .c file with nothing but the
# installed headers and `pkg-config --libs cnbd`. The program has its own
# parse_size, read_full and log_init, and defines again, as functions that
# abort, every other name libcnbd uses inside: linked with the shared
# library and with the static archive, it must build, and serve an
# in-process memory export through the embedded server that nbdsh reads
# and writes. The installed .so must have the soname libcnbd.so.0 and
# export only cnbd_* symbols (each declared in an installed header, each
# under a CNBD_ version node); the archive must keep global only those.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/client_api.sh"

need make cc pkg-config nm readelf nbdinfo nbdsh sha256sum
cnbd_tmpdir

lib_install
root=$API_ROOT
lib=$root/usr/lib
version=$(sed -n 's/^VERSION *:= *//p' "$CNBD_SRC/Makefile")
for f in "libcnbd.so.$version" libcnbd.a pkgconfig/cnbd.pc; do
	[ -f "$lib/$f" ] || fail "not installed: /usr/lib/$f"
done
for h in backend.h protocol.h serve.h server.h; do
	[ -f "$root/usr/include/cnbd/$h" ] || fail "not installed: /usr/include/cnbd/$h"
done
[ "$(readlink "$lib/libcnbd.so.0")" = "libcnbd.so.$version" ] ||
	fail "libcnbd.so.0 is not a link to libcnbd.so.$version"
[ "$(readlink "$lib/libcnbd.so")" = "libcnbd.so.$version" ] ||
	fail "libcnbd.so (the link programs are built with) is not a link to libcnbd.so.$version"

# ---- the soname and the exported symbols ----
so=$lib/libcnbd.so.$version
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libcnbd.so.0 ] || fail "soname is '$soname', not libcnbd.so.0"
nm -D --defined-only "$so" >"$tmp/dynsyms" || fail "nm -D failed"
awk '$3 !~ /^cnbd_[a-z0-9_]+@@CNBD_[0-9.]+$/ && $3 !~ /^CNBD_[0-9.]+$/' "$tmp/dynsyms" \
	>"$tmp/stray"
[ ! -s "$tmp/stray" ] || { cat "$tmp/stray" >&2; fail "libcnbd.so exports more than versioned cnbd_* symbols"; }
sed -n 's/.* \(cnbd_[a-z0-9_]*\)@@.*/\1/p' "$tmp/dynsyms" | sort >"$tmp/exported"
[ "$(wc -l <"$tmp/exported")" -ge 20 ] || fail "only $(wc -l <"$tmp/exported") symbols exported"
for s in cnbd_serve_connection cnbd_server_new cnbd_server_run cnbd_error cnbd_parse_size; do
	grep -qx "$s" "$tmp/exported" || fail "libcnbd.so does not export $s"
done
while read -r s; do
	grep -qw "$s" "$root"/usr/include/cnbd/*.h ||
		fail "libcnbd.so exports $s, which no installed header declares"
done <"$tmp/exported"
nm -g --defined-only "$lib/libcnbd.a" | awk 'NF == 3 { print $3 }' | sort >"$tmp/archive"
diff -u "$tmp/exported" "$tmp/archive" >&2 ||
	fail "libcnbd.a keeps global other symbols than libcnbd.so exports"

# ---- pkg-config ----
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
[ "$(pkg-config --modversion cnbd)" = "$version" ] || fail "pkg-config --modversion cnbd is wrong"
cflags=$(pkg-config --cflags cnbd) || fail "pkg-config --cflags cnbd failed"
libs=$(pkg-config --libs cnbd) || fail "pkg-config --libs cnbd failed"
[ "$(echo $libs)" = "-L$lib -lcnbd" ] || fail "pkg-config --libs cnbd says '$libs'"
static_libs=$(pkg-config --static --libs cnbd) || fail "pkg-config --static --libs cnbd failed"
for l in -lgnutls -linih; do
	case " $static_libs " in *" $l "*) ;; *) fail "pkg-config --static --libs cnbd lacks $l: $static_libs" ;; esac
done

# Another prefix, another cnbd.pc (not the one the last install made).
make -s -C "$CNBD_SRC" ${SANFLAGS:+SANITIZE=1} install-lib DESTDIR="$tmp/opt" PREFIX=/opt/cnbd \
	>"$tmp/install2.log" 2>&1 || { cat "$tmp/install2.log" >&2; fail "make install-lib PREFIX=/opt/cnbd failed"; }
grep -qx "libdir=/opt/cnbd/lib" "$tmp/opt/opt/cnbd/lib/pkgconfig/cnbd.pc" ||
	fail "cnbd.pc installed with PREFIX=/opt/cnbd says $(grep libdir= "$tmp/opt/opt/cnbd/lib/pkgconfig/cnbd.pc")"

# ---- every internal name of libcnbd, defined again by the program ----
nm -g --defined-only "$CNBD_BUILD/libcnbd-internal.a" | awk 'NF == 3 && $3 !~ /^cnbd_/ { print $3 }' |
	grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | sort -u |
	grep -vx -e parse_size -e read_full -e log_init >"$tmp/internal"
[ "$(wc -l <"$tmp/internal")" -ge 50 ] || fail "only $(wc -l <"$tmp/internal") internal names found"
grep -qx uri_parse "$tmp/internal" || fail "uri_parse is not among libcnbd's internal names"
{
	echo '#include <stdlib.h>'
	while read -r s; do
		echo "void $s(void); void $s(void) { abort(); }"
	done <"$tmp/internal"
} >"$tmp/clash.c"

cat >"$tmp/oot.c" <<'EOF'
/* Serves "mem", a buffer of this program's, on the Unix socket argv[1],
 * its size read from the file argv[2] by this program's own functions. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cnbd/server.h>

/* Names libcnbd also uses inside, with other meanings here. */
int log_init(const char *who);
long long parse_size(const char *text, int shift);
size_t read_full(const char *path, char *buf, size_t len);

int log_init(const char *who)
{
	return fprintf(stderr, "%s: starting\n", who);
}

long long parse_size(const char *text, int shift)
{
	return strtoll(text, NULL, 10) << shift;
}

size_t read_full(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static unsigned char *bytes;
static int64_t size;
static struct cnbd_server *srv;

static int64_t mem_size(void *h) { (void)h; return size; }

static int mem_pread(void *h, void *buf, uint32_t n, uint64_t off, uint32_t f)
{
	(void)h; (void)f;
	memcpy(buf, bytes + off, n);
	return 0;
}

static int mem_pwrite(void *h, const void *buf, uint32_t n, uint64_t off, uint32_t f)
{
	(void)h; (void)f;
	memcpy(bytes + off, buf, n);
	return 0;
}

static const struct cnbd_backend mem = {
	CNBD_BACKEND_HEADER,
	.name = "mem",
	.get_size = mem_size,
	.pread = mem_pread,
	.pwrite = mem_pwrite,
};

static void stop(int sig)
{
	(void)sig;
	cnbd_server_stop(srv);
}

int main(int argc, char **argv)
{
	char text[32], address[200];

	if (argc != 3 || !read_full(argv[2], text, sizeof(text)))
		return 2;
	log_init("oot");
	size = parse_size(text, 20);
	bytes = calloc(1, size);
	srv = cnbd_server_new();
	snprintf(address, sizeof(address), "unix:%s", argv[1]);
	if (!bytes || !srv || cnbd_server_listen(srv, address) < 0 ||
	    cnbd_server_add_export(srv, "mem", &mem, bytes, NULL) < 0) {
		fprintf(stderr, "oot: cannot serve on %s: %s\n", address, strerror(errno));
		return 1;
	}
	signal(SIGTERM, stop);
	cnbd_server_run(srv);
	cnbd_server_free(srv);
	free(bytes);
	fprintf(stderr, "oot: stopped\n");
	return 0;
}
EOF

# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror $SANFLAGS $cflags -o "$tmp/oot-shared" \
	"$tmp/oot.c" "$tmp/clash.c" $libs >"$tmp/cc.log" 2>&1 ||
	{ cat "$tmp/cc.log" >&2; fail "the program did not link with the shared library"; }
# The archive, and the libraries its Requires.private and Libs.private
# name, shared (a wholly static link would need every library's .a).
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror $SANFLAGS $cflags -o "$tmp/oot-static" \
	"$tmp/oot.c" "$tmp/clash.c" "$lib/libcnbd.a" \
	$(pkg-config --libs $(pkg-config --print-requires-private cnbd)) -ldl -pthread >"$tmp/cc.log" 2>&1 ||
	{ cat "$tmp/cc.log" >&2; fail "the program did not link with the static archive"; }
LD_LIBRARY_PATH=$lib ldd "$tmp/oot-shared" | grep -q "libcnbd.so.0 => $lib/libcnbd.so.0" ||
	fail "oot-shared does not load libcnbd.so.0 from the install"
if ldd "$tmp/oot-static" | grep -q libcnbd; then
	fail "oot-static needs libcnbd.so at run time"
fi

echo 8 >"$tmp/size"
head -c $((3 << 20)) /dev/urandom >"$tmp/data"
want=$(sha256sum <"$tmp/data" | cut -d' ' -f1)

serve_and_check() {
	local prog=$1 sock=$tmp/$1.sock pid i got
	LD_LIBRARY_PATH=$lib "$tmp/$prog" "$sock" "$tmp/size" 2>"$tmp/$prog.log" &
	pid=$!
	kill_on_exit "$pid"
	for i in $(seq 100); do
		[ -S "$sock" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/$prog.log" >&2; fail "$prog exited early"; }
		sleep 0.1
	done
	grep -qx "oot: starting" "$tmp/$prog.log" || fail "$prog: its own log_init did not run"
	[ "$(nbdinfo --size "nbd+unix:///mem?socket=$sock")" = $((8 << 20)) ] ||
		fail "$prog: the export's size is not the 8 MiB the program's parse_size read"
	nbdsh -u "nbd+unix:///mem?socket=$sock" -c "
import hashlib
data = open('$tmp/data', 'rb').read()
h.pwrite(data, 4096 * 3)
got = h.pread(len(data), 4096 * 3)
assert hashlib.sha256(got).hexdigest() == '$want', 'data read back differs'
assert h.pread(4096, 0) == bytes(4096), 'unwritten bytes are not zero'
" || { cat "$tmp/$prog.log" >&2; fail "$prog: nbdsh did not read back what it wrote"; }
	kill -TERM "$pid"
	wait "$pid" || { cat "$tmp/$prog.log" >&2; fail "$prog exited with $? after SIGTERM"; }
	grep -qx "oot: stopped" "$tmp/$prog.log" || fail "$prog did not stop cleanly"
}

# nbdsh runs "python3 -m nbd": Debian's python, which has the bindings.
nbdsh() {
	PATH=/usr/bin:$PATH command nbdsh "$@"
}
serve_and_check oot-shared
serve_and_check oot-static
echo "ok: $(wc -l <"$tmp/exported") symbols exported, $(wc -l <"$tmp/internal") internal names defined again"
