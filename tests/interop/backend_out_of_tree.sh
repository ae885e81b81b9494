#!/bin/bash
# A third party's backend: install cnbd's headers and pkg-config file into
# a staging root, build a backend from ONE .c file with nothing but them,
# drop it into a fresh backends directory, serve it with nbd-serverd and
# check with libnbd's tools that clients see exactly what it says.
# The same for a third party's layer (ABI 1.3): xor, over the file
# backend and over faulty over memory, its keys and theirs in one section.
# Then the root-ownership rule: the same .so made group-writable must not
# be loaded by a server running as root.
. "$(dirname "$0")/../lib/common.sh"

need make cc pkg-config nbdinfo nbdsh nm python3
cnbd_tmpdir

# nbdsh runs "python3 -m nbd": make that Debian's python, which has the
# libnbd bindings, even where another python3 comes first in PATH.
nbdsh() {
	PATH=/usr/bin:$PATH command nbdsh "$@"
}

# ---- install (only what a backend author needs) ----
san=
case "$CNBD_BUILD" in */asan) san=SANITIZE=1 ;; esac
root=$tmp/root
make -s -C "$CNBD_SRC" $san install-backends DESTDIR="$root" PREFIX=/usr \
	>"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install-backends failed"; }
for f in usr/include/cnbd/backend.h usr/include/cnbd/protocol.h \
	 usr/lib/pkgconfig/cnbd-backend.pc; do
	[ -f "$root/$f" ] || fail "not installed: /$f"
done
for b in file memory null; do
	f=$root/usr/lib/cnbd/backends/$b.so
	[ -f "$f" ] || fail "not installed: $f"
	[ "$(stat -c %a "$f")" = 755 ] || fail "$f has mode $(stat -c %a "$f"), not 755"
done

export PKG_CONFIG_PATH=$root/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
[ "$(pkg-config --modversion cnbd-backend)" = "$(sed -n 's/^VERSION *:= *//p' "$CNBD_SRC/Makefile")" ] ||
	fail "pkg-config --modversion cnbd-backend is wrong"
cflags=$(pkg-config --cflags cnbd-backend) || fail "pkg-config --cflags cnbd-backend failed"
[ "$(echo $cflags)" = "-I$root/usr/include" ] || fail "unexpected cflags: $cflags"
[ "$(pkg-config --variable=backenddir cnbd-backend)" = "$root/usr/lib/cnbd/backends" ] ||
	fail "backenddir variable is $(pkg-config --variable=backenddir cnbd-backend)"

# ---- the third-party backend: one file, the installed header only ----
# stripes: 64 KiB stripes alternate between data (byte i of the disk is
# (i % 251) ^ xor) and holes that read as zeros; no pwrite, so read-only.
cat >"$tmp/stripes.c" <<'EOF'
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cnbd/backend.h>

#define STRIPE 65536

struct stripes {
	int64_t size;
	unsigned char xor;
};

static void *stripes_open_export(const struct cnbd_param *params, size_t n)
{
	struct stripes *s = calloc(1, sizeof(*s));
	size_t i;

	if (!s)
		return NULL;
	s->size = 1 << 20;
	for (i = 0; i < n; i++) {
		if (!strcmp(params[i].key, "size")) {
			s->size = cnbd_parse_size("stripes: size", params[i].value);
			if (s->size < 0)
				goto fail;
		} else if (!strcmp(params[i].key, "xor")) {
			s->xor = (unsigned char)atoi(params[i].value);
		} else {
			cnbd_error("stripes: unknown parameter '%s'", params[i].key);
			errno = EINVAL;
			goto fail;
		}
	}
	return s;
fail:
	free(s);
	return NULL;
}

static void stripes_close_export(void *h)
{
	free(h);
}

#ifndef OLD_ABI
/* A worker is a fresh program: the export's settings travel as bytes. */
static int stripes_export_pack(void *h, bool readonly, struct cnbd_pack *pack)
{
	(void)readonly;
	return cnbd_pack_bytes(pack, h, sizeof(struct stripes));
}

static void *stripes_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct stripes *s = malloc(sizeof(*s));

	(void)readonly;
	if (s && cnbd_unpack_bytes(pack, s, sizeof(*s)) < 0) {
		free(s);
		return NULL;
	}
	return s;
}
#endif

static int64_t stripes_get_size(void *h)
{
	return ((struct stripes *)h)->size;
}

static int is_data(uint64_t off)
{
	return (off / STRIPE) % 2 == 0;
}

static int stripes_pread(void *h, void *buf, uint32_t count, uint64_t off,
			 uint32_t flags)
{
	struct stripes *s = h;
	unsigned char *p = buf;
	uint32_t i;

	(void)flags;
	for (i = 0; i < count; i++)
		p[i] = is_data(off + i) ? (unsigned char)((off + i) % 251) ^ s->xor : 0;
	return 0;
}

static int stripes_extents(void *h, uint32_t count, uint64_t off,
			   uint32_t flags, struct cnbd_extents *e)
{
	uint64_t end = off + count, next;

	(void)h;
	while (off < end) {
		next = (off / STRIPE + 1) * STRIPE;
		if (cnbd_add_extent(e, off, next - off, is_data(off) ? 0 :
				    CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO) < 0)
			return -1;
		if (flags & CNBD_REQ_ONE)
			break;
		off = next;
	}
	return 0;
}

static const struct cnbd_backend stripes = {
	CNBD_BACKEND_HEADER,
	.name = "stripes",
	.version = "1.0",
	.description = "alternating data and holes",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN,
	.open_export = stripes_open_export,
	.close_export = stripes_close_export,
	.get_size = stripes_get_size,
	.pread = stripes_pread,
	.extents = stripes_extents,
#ifndef OLD_ABI
	.export_pack = stripes_export_pack,
	.export_unpack = stripes_export_unpack,
#endif
};

CNBD_BACKEND_REGISTER(stripes)
EOF

bdir=$tmp/backends
mkdir -m 0755 "$bdir"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags \
	-o "$bdir/stripes.so" "$tmp/stripes.c" || fail "the third-party backend did not build"
chmod 0755 "$bdir/stripes.so"
nm -D --defined-only "$bdir/stripes.so" | grep -qw cnbd_backend_entry ||
	fail "stripes.so does not export cnbd_backend_entry"

# ---- serve it ----
port=$(free_port)
conf=$tmp/server.conf
write_server_config "$conf" "127.0.0.1:$port"
sed -i "s|^backend-dir = .*|backend-dir = $bdir|" "$conf"
add_export "$conf" stripes backend=stripes size=3M xor=90
start_server "$conf"
uri=nbd://127.0.0.1:$port/stripes

nbdinfo --json "$uri" >"$tmp/info.json" || fail "nbdinfo failed"
python3 - "$tmp/info.json" <<'EOF' || fail "nbdinfo reports the wrong export"
import json, sys
info = json.load(open(sys.argv[1]))
e = info["exports"][0]
assert e["export-size"] == 3 << 20, e["export-size"]
assert e["is_read_only"] is True, "no pwrite must mean read-only"
assert e["can_multi_conn"] is True, "MULTI_CONN flag not advertised"
assert e["can_trim"] is False and e["can_zero"] is False
EOF

# What nbdinfo --map reports must be the stripes, exactly.
nbdinfo --map "$uri" >"$tmp/map" || fail "nbdinfo --map failed"
python3 - "$tmp/map" <<'EOF' || { cat "$tmp/map" >&2; fail "wrong allocation map"; }
import sys
got = [l.split()[:3] for l in open(sys.argv[1]) if l.strip()]
want = []
for i in range(48):
    want.append([str(i * 65536), "65536", "0" if i % 2 == 0 else "3"])
# Neighbours of one type merge, so consecutive stripes never repeat a type.
assert got == want, got[:6]
EOF

nbdsh -u "$uri" -c '
stripe = 65536
def expect(off):
    return (off % 251) ^ 90 if (off // stripe) % 2 == 0 else 0
for off, n in ((0, 4096), (65536 - 100, 300), (3 * stripe + 7, 70000),
               ((3 << 20) - 512, 512)):
    buf = h.pread(n, off)
    want = bytes(expect(off + i) for i in range(n))
    assert buf == want, "data differs at %d+%d" % (off, n)
try:
    h.pwrite(b"x" * 512, 0)
except nbd.Error as e:
    # A read-only export: libnbd refuses before sending, or the server
    # answers EPERM.
    assert e.errno in ("EPERM", "EINVAL", 1, 22), e
else:
    raise AssertionError("write to a read-only export succeeded")
' || fail "nbdsh saw the wrong data"
server_alive
stop_server

# ---- the third-party layer: xor, one file, the installed header only ----
# Every byte is XORed with key on its way in and out; everything else
# passes through to the base. It changes data, so (docs/backends.md) the
# server reports all of it as data, whatever holes the base has.
cat >"$tmp/xor.c" <<'EOF'
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cnbd/backend.h>

struct xor_conn {
	unsigned char key;
	struct cnbd_next *next;
};

static void *xor_open_layer(struct cnbd_below *below, const struct cnbd_param *params,
			    size_t n)
{
	unsigned char *key = calloc(1, 1);
	size_t i;

	(void)below;
	for (i = 0; key && i < n; i++) {
		int64_t v = strcmp(params[i].key, "key") ? -1 :
			    cnbd_parse_size("xor: key", params[i].value);

		if (v < 0 || v > 255) {
			cnbd_error("xor: unknown parameter or bad key '%s'", params[i].key);
			errno = EINVAL;
			free(key);
			return NULL;
		}
		*key = (unsigned char)v;
	}
	return key;
}

static void xor_close_export(void *h)
{
	free(h);
}

static int xor_export_pack(void *h, bool readonly, struct cnbd_pack *pack)
{
	(void)readonly;
	return cnbd_pack_bytes(pack, h, 1);
}

static void *xor_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	unsigned char *key = malloc(1);

	(void)readonly;
	if (key && cnbd_unpack_bytes(pack, key, 1) < 0) {
		free(key);
		return NULL;
	}
	return key;
}

static void *xor_open_conn(void *h, struct cnbd_next *next, bool readonly)
{
	struct xor_conn *c = malloc(sizeof(*c));

	(void)readonly;
	if (c) {
		c->key = *(unsigned char *)h;
		c->next = next;
	}
	return c;
}

static void xor_close_conn(void *c)
{
	free(c);
}

static void apply(unsigned char *p, uint32_t n, unsigned char key)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		p[i] ^= key;
}

static int xor_pread(void *conn, void *buf, uint32_t count, uint64_t off, uint32_t flags)
{
	struct xor_conn *c = conn;

	if (cnbd_next_pread(c->next, buf, count, off, flags) < 0)
		return -1;
	apply(buf, count, c->key);
	return 0;
}

static int xor_pwrite(void *conn, const void *buf, uint32_t count, uint64_t off,
		      uint32_t flags)
{
	struct xor_conn *c = conn;
	unsigned char *copy = malloc(count);
	int rc;

	if (!copy)
		return -1;
	memcpy(copy, buf, count);
	apply(copy, count, c->key);
	rc = cnbd_next_pwrite(c->next, copy, count, off, flags);
	free(copy);
	return rc;
}

static const char *const xor_keys[] = { "key", NULL };

static const struct cnbd_backend xor_layer = {
	CNBD_BACKEND_HEADER,
	.name = "xor",
	.version = "1.0",
	.description = "XORs every byte with a key",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_MULTI_CONN,
	.close_export = xor_close_export,
	.export_pack = xor_export_pack,
	.export_unpack = xor_export_unpack,
	.close_conn = xor_close_conn,
	.pread = xor_pread,
	.pwrite = xor_pwrite,
	.layer_params = xor_keys,
	.open_layer = xor_open_layer,
	.open_layer_conn = xor_open_conn,
};

CNBD_LAYER_REGISTER(xor_layer)
EOF
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags \
	-o "$bdir/xor.so" "$tmp/xor.c" || fail "the third-party layer did not build"
nm -D --defined-only "$bdir/xor.so" | grep -qw cnbd_layer_entry ||
	fail "xor.so does not export cnbd_layer_entry"
# The bases, beside it: the installed file and memory, the build's faulty.
install -m 0755 "$root/usr/lib/cnbd/backends/file.so" "$root/usr/lib/cnbd/backends/memory.so" \
	"$CNBD_BUILD/backends/faulty.so" "$bdir/"
chmod 0755 "$bdir/xor.so"
truncate -s 2M "$tmp/base.img"
printf 'abcd' | dd of="$tmp/base.img" bs=1 seek=65536 conv=notrunc status=none
chmod 0644 "$tmp/base.img"

port=$(free_port)
conf=$tmp/layer.conf
write_server_config "$conf" "127.0.0.1:$port"
sed -i "s|^backend-dir = .*|backend-dir = $bdir|" "$conf"
add_export "$conf" x backend=xor base=file path="$tmp/base.img" key=90
add_export "$conf" deep backend=xor "base=faulty, memory" xor.key=1 size=4M fail-read=1M-4K
start_server "$conf"

nbdsh -u "nbd://127.0.0.1:$port/x" -c '
assert h.get_size() == 2 << 20
assert h.pread(4, 65536) == bytes(c ^ 90 for c in b"abcd"), h.pread(4, 65536)
assert h.pread(8, 0) == bytes([90]) * 8
h.pwrite(b"hello", 1000)
h.flush()
assert h.pread(5, 1000) == b"hello"
assert h.can_trim() and h.can_zero() and not h.can_fast_zero()
' || fail "nbdsh through the xor layer saw the wrong data"
python3 - "$tmp/base.img" <<'EOF' || fail "the base does not hold the XORed bytes"
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(1000)
    assert f.read(5) == bytes(c ^ 90 for c in b"hello")
EOF
# The base is sparse, but a hole XORed reads as 0x5a: all data.
nbdinfo --map "nbd://127.0.0.1:$port/x" >"$tmp/xmap" || fail "nbdinfo --map failed"
[ "$(awk '{print $1, $2, $3}' "$tmp/xmap")" = "0 2097152 0" ] ||
	{ cat "$tmp/xmap" >&2; fail "the xor layer's map is not all data"; }

# Three levels: xor's key by its prefix, faulty's and memory's by their
# own lists; a read of faulty's bad range fails through xor.
nbdsh -u "nbd://127.0.0.1:$port/deep" -c '
import errno
assert h.get_size() == 4 << 20
assert h.pread(16, 0) == bytes([1]) * 16
try:
    h.pread(4096, 1 << 20)
except nbd.Error as e:
    assert e.errno in ("EIO", errno.EIO), e
else:
    raise AssertionError("faulty under xor did not fail the read")
h.pwrite(b"\x01\x02", 5)
assert h.pread(2, 5) == b"\x01\x02"
' || fail "the xor-faulty-memory stack misbehaved"
server_alive
stop_server

# A layer's unknown key is the layer's to refuse, named by its prefix.
conf2=$tmp/badlayer.conf
write_server_config "$conf2" "127.0.0.1:$(free_port)"
sed -i "s|^backend-dir = .*|backend-dir = $bdir|" "$conf2"
add_export "$conf2" x backend=xor base=file path="$tmp/base.img" xor.colour=blue
if timeout 10 "$SERVERD" -f -c "$conf2" >"$tmp/badlayer.log" 2>&1; then
	fail "nbd-serverd started with a key the layer refused"
fi
grep -q "layer 'xor' cannot open it: xor: unknown parameter or bad key 'colour'" "$tmp/badlayer.log" ||
	{ cat "$tmp/badlayer.log" >&2; fail "the layer's refusal did not reach the log"; }

# ---- a backend that keeps export state but cannot hand it to a worker
# (built as before ABI 1.2) is refused at start, with the reason ----
odir=$tmp/old-backends
mkdir -m 0755 "$odir"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -DOLD_ABI $cflags \
	-o "$odir/stripes.so" "$tmp/stripes.c" || fail "the old-style backend did not build"
chmod 0755 "$odir/stripes.so"
conf3=$tmp/old.conf
write_server_config "$conf3" "127.0.0.1:$(free_port)"
sed -i "s|^backend-dir = .*|backend-dir = $odir|" "$conf3"
add_export "$conf3" stripes backend=stripes
if timeout 10 "$SERVERD" -f -c "$conf3" >"$tmp/old.log" 2>&1; then
	fail "nbd-serverd served a backend that cannot hand its export to a worker"
fi
grep -q "backend 'stripes' keeps export state but cannot hand it to a worker (no export_pack/export_unpack, backend ABI 1.2)" "$tmp/old.log" ||
	{ cat "$tmp/old.log" >&2; fail "the refusal of an old backend does not say why"; }

# ---- an unknown parameter reaches the backend, which refuses it ----
conf2=$tmp/bad.conf
port=$(free_port)
write_server_config "$conf2" "127.0.0.1:$port"
sed -i "s|^backend-dir = .*|backend-dir = $bdir|" "$conf2"
add_export "$conf2" stripes backend=stripes colour=blue
if timeout 10 "$SERVERD" -f -c "$conf2" >"$tmp/bad.log" 2>&1; then
	fail "nbd-serverd started with a parameter the backend refused"
fi
grep -q "stripes: unknown parameter 'colour'" "$tmp/bad.log" ||
	{ cat "$tmp/bad.log" >&2; fail "the backend's message did not reach the log"; }

# ---- root-ownership rule: a group-writable backend is never loaded ----
if [ "$(id -u)" = 0 ]; then
	chmod 0775 "$bdir/stripes.so"
	conf3=$tmp/writable.conf
	port=$(free_port)
	write_server_config "$conf3" "127.0.0.1:$port"
	sed -i "s|^backend-dir = .*|backend-dir = $bdir|" "$conf3"
	add_export "$conf3" stripes backend=stripes
	if timeout 10 "$SERVERD" -f -c "$conf3" >"$tmp/writable.log" 2>&1; then
		fail "nbd-serverd (root) started with a group-writable backend"
	fi
	grep -q "writable by group or others" "$tmp/writable.log" ||
		{ cat "$tmp/writable.log" >&2; fail "no reason given for refusing the backend"; }
fi
echo "ok"
