#!/bin/bash
# make install-client puts nbd-clientd, nbdctl, their man pages, the
# systemd unit, the udev rules and the modprobe options where PREFIX says,
# with the installed paths filled in; systemd-analyze accepts the unit and
# man renders both pages without warnings.
. "$(dirname "$0")/../lib/common.sh"

need make systemd-analyze man
cnbd_tmpdir

san=
case "$CNBD_BUILD" in */asan) san=SANITIZE=1 ;; esac
prefix=$tmp/usr
make -s -C "$CNBD_SRC" $san install-client PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "make install-client failed"; }

unit=$prefix/lib/systemd/system/nbd-clientd.service
rules=$prefix/lib/udev/rules.d/60-cnbd.rules
for f in "$prefix/sbin/nbd-clientd" "$prefix/bin/nbdctl" "$unit" "$rules" \
	 "$prefix/lib/modprobe.d/cnbd.conf" "$prefix/share/man/man8/nbd-clientd.8" \
	 "$prefix/share/man/man8/nbdctl.8"; do
	[ -f "$f" ] || fail "not installed: $f"
done
[ -x "$prefix/sbin/nbd-clientd" ] && [ -x "$prefix/bin/nbdctl" ] || fail "programs not executable"
"$prefix/bin/nbdctl" --help | grep -q "udev-name" || fail "installed nbdctl --help lacks udev-name"

grep -qx "ExecStart=$prefix/sbin/nbd-clientd -f" "$unit" ||
	fail "ExecStart does not name the installed daemon: $(grep ExecStart "$unit")"
for want in After=network-online.target Wants=network-online.target Before=remote-fs-pre.target; do
	grep -qx "$want" "$unit" || fail "the unit lacks $want"
done
MANPATH=$prefix/share/man: unit_checks "$unit" "$CNBD_SRC/docs/client.md"
grep -qx "Type=notify" "$unit" || fail "the unit is not Type=notify"

grep -q "RUN+=\"$prefix/bin/nbdctl udev-add %k\"" "$rules" || fail "the rule does not run the installed nbdctl udev-add"
grep -q "PROGRAM=\"$prefix/bin/nbdctl udev-name %k\", SYMLINK+=\"nbd/by-export/%c\"" "$rules" ||
	fail "the rule does not name devices by export"
grep -q "@BINDIR@" "$rules" && fail "@BINDIR@ left in the installed rules"
grep -qx "options nbd nbds_max=16 max_part=15" "$prefix/lib/modprobe.d/cnbd.conf" ||
	fail "modprobe options missing"

for page in nbd-clientd nbdctl; do
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$prefix/share/man/man8/$page.8" \
		>"$tmp/$page.txt" 2>"$tmp/man.err" || fail "man $page failed: $(cat "$tmp/man.err")"
	[ ! -s "$tmp/man.err" ] || fail "man $page warnings: $(cat "$tmp/man.err")"
done
for k in devices.conf connections readonly timeout SIGTERM SIGHUP CAN_MULTI_CONN \
	 systemd-mark JOURNAL_STREAM; do
	grep -q -- "$k" "$tmp/nbd-clientd.txt" || fail "nbd-clientd(8) does not mention $k"
done
for k in attach detach list exports wait reload --json udev-add udev-name "EXIT STATUS"; do
	grep -q -- "$k" "$tmp/nbdctl.txt" || fail "nbdctl(8) does not mention $k"
done
log "ok"
