#!/bin/bash
# The section 3 man pages, as `make install-lib` installs them: each page
# of lib/man/ is in $(MANDIR)/man3 and renders with no warning from
# `man --warnings` (groff's own, which fail this test); every function the
# installed library exports has a page `man NAME` finds; every function a
# page's header declares is in that page's SYNOPSIS, so the two cannot
# drift apart; and every C example in the pages compiles against the
# installed headers (and links with `pkg-config --libs cnbd` when it is a
# whole program).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/client_api.sh"

need make man groff nm cc pkg-config python3
cnbd_tmpdir
lib_install
root=$API_ROOT
man3=$root/usr/share/man/man3
pages=0
for src in "$CNBD_SRC"/lib/man/*.3; do
	page=$man3/${src##*/}
	cmp -s "$src" "$page" || fail "${src##*/} is not installed in \$(MANDIR)/man3"
	MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" >"$tmp/out" 2>"$tmp/warn" ||
		fail "man -l ${src##*/} failed: $(cat "$tmp/warn")"
	[ ! -s "$tmp/warn" ] || { cat "$tmp/warn" >&2; fail "${src##*/}: groff warnings"; }
	[ "$(wc -l <"$tmp/out")" -ge 40 ] || fail "${src##*/} renders to $(wc -l <"$tmp/out") lines"
	pages=$((pages + 1))
done
[ "$pages" -ge 4 ] || fail "only $pages pages in lib/man"
for p in cnbd_client cnbd_server cnbd_serve_connection cnbd_backend; do
	[ -f "$man3/$p.3" ] || fail "no $p(3)"
done

# Every exported function, by its own name.
nm -D --defined-only "$root/usr/lib/libcnbd.so.0" | sed -n 's/.* \(cnbd_[a-z0-9_]*\)@@.*/\1/p' |
	sort >"$tmp/exported"
[ -s "$tmp/exported" ] || fail "no symbols exported"
n=0
while read -r sym; do
	# man -w follows the ".so" alias to the page it shows.
	page=$(MANPATH=$root/usr/share/man man -w "$sym" 2>/dev/null) || fail "man $sym finds no page"
	case $page in "$man3"/*.3) ;; *) fail "man $sym finds $page, not a page installed here" ;; esac
	grep -q "\b$sym\b" "$page" || fail "man $sym shows ${page##*/}, which does not name it"
	n=$((n + 1))
done <"$tmp/exported"

# Headers and SYNOPSIS agree; the examples build.
python3 - "$root" "$man3" "$CNBD_SRC/lib/man" "$tmp" <<'EOF' || fail "a page and its header disagree, or an example does not build"
import glob, os, re, subprocess, sys
root, man3, src, tmp = sys.argv[1:]
env = dict(os.environ, PKG_CONFIG_PATH=root + "/usr/lib/pkgconfig", PKG_CONFIG_SYSROOT_DIR=root)
flags = subprocess.run(["pkg-config", "--cflags", "--libs", "cnbd"], env=env, check=True,
                       capture_output=True, text=True).stdout.split()
built = 0
for page in sorted(glob.glob(src + "/*.3")):
    text = open(page).read()
    name = os.path.basename(page)
    syn = text.split(".SH SYNOPSIS", 1)[1].split(".SH DESCRIPTION", 1)[0]
    for header in re.findall(r"#include <cnbd/(\w+\.h)>", syn):
        declared = set(re.findall(r"\b(cnbd_\w+)\s*\(", open(root + "/usr/include/cnbd/" + header).read()))
        missing = sorted(d for d in declared if d not in syn)
        assert not missing, "%s: %s declares %s, missing from the SYNOPSIS" % (name, header, missing)
    for i, ex in enumerate(re.findall(r"^\.EX\n(.*?)^\.EE", text, re.S | re.M)):
        if "#include <cnbd/" not in ex:
            continue
        code = ex.replace("\\e", "\\").replace("\\-", "-")
        c = "%s/%s-%d.c" % (tmp, name, i)
        open(c, "w").write(code)
        whole = "int main" in code and "extern " not in code
        if "CNBD_BACKEND_REGISTER" in code:
            cmd = ["cc", "-shared", "-fPIC", "-o", c + ".so", c] + flags
        elif whole:
            cmd = ["cc", "-o", c + ".bin", c] + flags + ["-pthread"]
        else:
            cmd = ["cc", "-c", "-o", c + ".o", c] + flags
        r = subprocess.run(cmd[:1] + ["-std=gnu11", "-Wall", "-Werror"] + cmd[1:],
                           capture_output=True, text=True)
        assert r.returncode == 0, "%s, example %d:\n%s\n%s" % (name, i, code, r.stderr)
        built += 1
assert built >= 4, "only %d examples built" % built
print("%d examples built" % built)
EOF
log "ok: $pages pages render cleanly, $n exported functions each have one"
