#!/bin/bash
# libcnbd's section 3 pages (lib/man/*.3): make install-lib puts each
# under $(MANDIR)/man3, man renders every one without a warning, and every
# name a page's NAME line gives is a page man finds (a .so link to the
# family's page). Each function a public header declares is named by the
# page of its family: cnbd_attach_* in include/cnbd/attach.h by
# cnbd_attach(3).
. "$(dirname "$0")/../lib/common.sh"

need make man
cnbd_tmpdir

san=
case "$CNBD_BUILD" in */asan) san=SANITIZE=1 ;; esac
prefix=$tmp/usr
make -s -C "$CNBD_SRC" $san install-lib PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "make install-lib failed"; }
man3=$prefix/share/man/man3

# render PAGE-FILE-OR-NAME...: man's text on stdout; any warning fails.
render() {
	LC_ALL=C.UTF-8 MANWIDTH=80 MANPATH=$prefix/share/man man --warnings "$@" \
		2>"$tmp/man.err" || fail "man $* failed: $(cat "$tmp/man.err")"
	[ ! -s "$tmp/man.err" ] || fail "man $* warns: $(cat "$tmp/man.err")"
}

pages=0
for src in "$CNBD_SRC"/lib/man/*.3; do
	page=$(basename "$src")
	[ -f "$man3/$page" ] || fail "$page is not installed in $man3"
	cmp -s "$src" "$man3/$page" || fail "the installed $page differs from lib/man/$page"
	render -l "$man3/$page" > "$tmp/$page.txt"
	# The NAME section: every name before "\-" is a page of its own.
	names=$(sed -n '/^\.SH NAME/,/^\.SH/p' "$src" | sed '1d;$d' | tr '\n' ' ' |
		sed 's/\\-.*//; s/,/ /g')
	for name in $names; do
		[ -f "$man3/$name.3" ] || fail "$name (in $page's NAME) has no page in $man3"
		render 3 "$name" > "$tmp/by-name.txt"
		head -1 "$tmp/by-name.txt" | grep -qi "^${page%.3}(3)" ||
			fail "man 3 $name shows $(head -1 "$tmp/by-name.txt"), not $page"
	done
	pages=$((pages + 1))
done
[ "$pages" -gt 0 ] || fail "no page in lib/man"

# The attach family: each function of the header is in the page's NAME.
grep -o 'cnbd_attach_[a-z_]*(' "$CNBD_SRC/include/cnbd/attach.h" | tr -d '(' | sort -u > "$tmp/declared"
[ -s "$tmp/declared" ] || fail "no function found in include/cnbd/attach.h"
sed -n '/^\.SH NAME/,/^\.SH/p' "$CNBD_SRC/lib/man/cnbd_attach.3" > "$tmp/attach-name"
while read -r fn; do
	grep -qw "$fn" "$tmp/attach-name" || fail "$fn is declared in <cnbd/attach.h> but not in cnbd_attach(3)"
done < "$tmp/declared"
[ -f "$prefix/include/cnbd/attach.h" ] || fail "<cnbd/attach.h> is not installed"
log "$pages page(s), $(wc -l < "$tmp/declared") attach functions named"
