#!/bin/bash
# The README's first command on a fresh Debian 12: a minbase chroot with
# only git, make and ca-certificates added, a clone of this checkout, and
# `make run` as root, alone. It must install the build group and no more,
# build, and serve the 1 GiB memory export "default" on 127.0.0.1:10809,
# which nbdinfo and nbdsh on the host then read and write; SIGTERM stops
# it. Before that, install-deps as non-root must print the one apt-get
# line and fail. Needs root and this machine's Debian mirror.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

need debootstrap git unshare setpriv nbdinfo nbdsh ss
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot)"
cnbd_tmpdir

# make run serves on the fixed port, and the chroot shares this
# machine's network (it must reach the mirror).
if [ -n "$(ss -Hltn 'sport = :10809')" ]; then
	fail "127.0.0.1:10809 is taken on this machine: $(ss -Hltnp 'sport = :10809')"
fi

root=$tmp/root
t0=$(date +%s)
chroot_new "$root"
t_base=$(date +%s)

# What a newcomer clones: this checkout's commit (not its uncommitted
# changes), cloned by the chroot's own git.
rev=$(git -C "$CNBD_SRC" rev-parse HEAD)
[ -z "$(git -C "$CNBD_SRC" status --porcelain --untracked-files=no)" ] ||
	log "note: uncommitted changes in $CNBD_SRC are not tested; commit $rev is"
git clone -q --bare "$CNBD_SRC" "$root/tmp/cnbd.git" || fail "git clone --bare $CNBD_SRC failed"
in_chroot "$root" git clone -q /tmp/cnbd.git /srv/cnbd >"$tmp/clone.log" 2>&1 ||
	fail "git clone in the chroot failed: $(cat "$tmp/clone.log")"
[ "$(in_chroot "$root" git -C /srv/cnbd rev-parse HEAD)" = "$rev" ] || fail "the clone is not at $rev"

# As non-root: the apt-get line, and failure.
rc=0
in_chroot "$root" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	/srv/cnbd/deps/install-deps build >"$tmp/nonroot.log" 2>&1 || rc=$?
[ $rc = 1 ] || fail "install-deps as nobody exited $rc, not 1: $(cat "$tmp/nonroot.log")"
grep -q '^  apt-get install -y --no-install-recommends build-essential .*libnl-genl-3-dev' \
	"$tmp/nonroot.log" || fail "install-deps as nobody did not print the apt-get line: $(cat "$tmp/nonroot.log")"

chroot_start "$root" "$tmp/make-run.log" sh -c 'cd /srv/cnbd && exec make run'
wait_listen_chroot 127.0.0.1:10809 1500 "$tmp/make-run.log"
t_serving=$(date +%s)

[ "$(nbdinfo --size nbd://127.0.0.1:10809)" = 1073741824 ] ||
	fail "the default export is not 1 GiB: $(nbdinfo nbd://127.0.0.1:10809 2>&1)"
/usr/bin/python3 - <<'PY' || fail "nbdsh could not write and read back the export"
import nbd
h = nbd.NBD()
h.connect_uri("nbd://127.0.0.1:10809")
data = bytes(range(256)) * 256
h.pwrite(data, 1 << 29)
assert h.pread(len(data), 1 << 29) == data
assert h.pread(4096, 0) == bytes(4096)
h.shutdown()
PY

chroot_stop
[ -z "$(ss -Hltn 'sport = :10809')" ] || fail "something still listens on 10809 after SIGTERM"
grep -q "^install-deps: installing [0-9]* missing packages of 'build': build-essential" \
	"$tmp/make-run.log" || fail "make run did not say what it installed: $(head -n 5 "$tmp/make-run.log")"

# The build group, and nothing of the others.
build_pkgs=$("$CNBD_SRC/deps/install-deps" --list build)
others="libcmocka-dev nbdkit librbd-dev debhelper"
# shellcheck disable=SC2086
in_chroot "$root" dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $build_pkgs $others \
	>"$tmp/status" 2>/dev/null || true
for p in $build_pkgs; do
	grep -q "^$p ii" "$tmp/status" || fail "make run left $p uninstalled: $(cat "$tmp/status")"
done
for p in $others; do
	! grep -q "^$p ii" "$tmp/status" || fail "make run installed $p, which only make test needs"
done
log "unpacked base in $((t_base - t0)) s; clone, install, build and serve in $((t_serving - t_base)) s"
log "ok"
