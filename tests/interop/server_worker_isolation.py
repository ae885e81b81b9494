#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What a compromised worker could reach, seen as an attacker would see
it: as root, from outside, on live workers (issue 11). The server runs
as root with user = nobody, tls = on, an X.509 certificate with an RSA
key and a PSK file; its exports are A and B (file, read-write), R (file,
readonly = true), M (memory) and S (file, tls = require).

Four workers are looked at: one whose client has sent nothing, one
serving A, one serving R (both plaintext) and one serving S over X.509
TLS. Each is found as a descendant of the master holding the server end
of our client's TCP connection (socket inode from /proc/MASTER/net/tcp),
never by its name, so a worker that renames itself or is re-executed is
still found. The checks:

  1. idle_fds: the idle worker holds no export's storage (no descriptor
     or mapping of A, B, R, S, no memfd) and nothing but sockets, pipes,
     anonymous inodes, /dev/null-like devices and the server's log.
  2. serving_fds: the worker serving A holds A and no other storage; the
     worker serving S (over TLS) holds S and no other storage.
  3. readonly_fds: the worker serving R holds R opened O_RDONLY, and no
     other storage.
  4. memory: /proc/PID/mem of every worker holds none of: the PSK's
     bytes, the RSA key's primes p and q (big- and little-endian), a line
     of the key's PEM text. The positive control: the master's memory
     holds the PSK and the primes in both orders (the search finds what
     is there); not the PEM text, which GnuTLS frees after parsing.
  5. confinement: every worker has Seccomp: 2 (a filter), NoNewPrivs: 1
     and CapEff, CapPrm, CapBnd all zero.
  6. layout: every worker's executable and libc are mapped at addresses
     other than the master's (a fresh address layout: re-executed, not
     just forked).
  7. stats_pages: every worker maps one statistics page of its own (a
     one-page memfd named cnbd-stats: its counters, not storage, so the
     checks above do not count it) and no other worker maps the same one
     (by inode), so none can write another's counts.

Every check runs and reports, then the test fails if any failed, so one
run shows the whole picture."""

import os
import re
import shutil
import socket
import sys
import tempfile
import time

import nbd
import nbdtest

FILE_SIZE = 1 << 20
O_ACCMODE = 0o3
# Descriptors a worker may hold that reach no export and no key.
HARMLESS_PREFIXES = ("socket:", "pipe:", "anon_inode:")
HARMLESS_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                    "/dev/urandom")
SKIP_REGIONS = ("[vvar]", "[vvar_vclock]", "[vsyscall]")
# The master parses the PEM text and frees it: it keeps the key itself
# (to sign with) and the PSKs (to hand out), not the text. So the text
# is searched for in workers but not required in the master's memory.
PEM_NEEDLE = "PEM text of the key (a middle line)"


class Results:
    """Named checks; each records pass or fail with its evidence, and an
    exception inside one fails that one only."""

    def __init__(self):
        self.rows = []

    def run(self, name, fn, *args):
        try:
            missing = [a.why for a in args if isinstance(a, Missing)]
            problems = missing or fn(*args)
        except Exception as e:  # a check that could not look fails, loudly
            problems = ["could not check: %s: %s" % (type(e).__name__, e)]
        self.rows.append((name, problems))
        state = "FAIL" if problems else "PASS"
        print("%s %s" % (state, name), file=sys.stderr)
        for p in problems:
            print("    " + p.replace("\n", "\n    "), file=sys.stderr)

    def failed(self):
        return [name for name, problems in self.rows if problems]


# -- test material --------------------------------------------------------

def make_keys(src, tmp):
    """The CA, server and client certificates and alice's PSK, as every
    TLS test makes them (tests/lib/tls_keys.sh); the key and the PSK file
    root-only, as an operator keeps them."""
    d = os.path.join(tmp, "tls")
    script = ('. "$1/tests/lib/common.sh"; . "$1/tests/lib/tls_keys.sh"; '
              'make_tls_keys "$2"')
    nbdtest.run(["bash", "-c", script, "keys", src, d])
    key = os.path.join(d, "pki", "server-key.pem")
    psk = os.path.join(d, "keys.psk")
    os.chmod(key, 0o600)
    os.chmod(psk, 0o600)
    return d, key, psk


def hex_field(text, field):
    """The colon-separated hex bytes under 'field:' in certtool -k output."""
    lines = text.splitlines()
    start = lines.index(field + ":") + 1
    digits = ""
    for line in lines[start:]:
        if not line.startswith("\t"):
            break
        digits += line.strip().replace(":", "")
    return int(digits, 16)


def key_needles(key_path):
    """The RSA key's secrets as the bytes a memory dump would show."""
    info = nbdtest.run(["certtool", "-k", "--infile", key_path])
    nbdtest.check("Public Key Algorithm: RSA" in info,
                  "the server key is not RSA:\n" + info[:400])
    n = hex_field(info, "modulus")
    p = hex_field(info, "prime1")
    q = hex_field(info, "prime2")
    nbdtest.check(p * q == n, "certtool's primes do not multiply to the modulus")
    needles = {}
    for name, v in (("p", p), ("q", q)):
        be = v.to_bytes((v.bit_length() + 7) // 8, "big")
        needles["RSA prime %s, big-endian" % name] = be
        needles["RSA prime %s, little-endian" % name] = be[::-1]
    with open(key_path) as f:
        body = [l.strip() for l in f if l.strip() and not l.startswith("-----")]
    full = [l for l in body if len(l) == 64]
    nbdtest.check(len(full) >= 3, "server-key.pem has too few 64-character lines")
    needles[PEM_NEEDLE] = full[len(full) // 2].encode()
    return needles


def psk_needles(psk_path):
    with open(psk_path) as f:
        ident, hexkey = f.readline().strip().split(":", 1)
    key = bytes.fromhex(hexkey)
    nbdtest.check(len(key) >= 16, "alice's PSK is only %d bytes" % len(key))
    return {"PSK bytes (%s's key, %d bytes)" % (ident, len(key)): key}


def make_file(path, mode, fill):
    with open(path, "wb") as f:
        f.write(fill * (FILE_SIZE // len(fill)))
    os.chmod(path, mode)
    return os.path.realpath(path)


# -- looking at processes -------------------------------------------------

def descendants(master):
    """Every process below master (children, their children...)."""
    children = {}
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % ent) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(ent))
    out, todo = [], [master]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def server_socket_inode(master, server_port, client_port):
    """The inode of the server's end of the connection from client_port,
    from the master's network namespace."""
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (master, table)) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            lport = int(fields[1].rsplit(":", 1)[1], 16)
            rport = int(fields[2].rsplit(":", 1)[1], 16)
            if lport == server_port and rport == client_port and fields[9] != "0":
                return fields[9]
    return None


def fd_table(pid):
    """[(fd, link target, open flags)] of pid."""
    rows = []
    for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                flags = int(re.search(r"^flags:\s*([0-7]+)", f.read(), re.M).group(1), 8)
        except (OSError, AttributeError):
            continue        # closed while we looked
        rows.append((int(fd), target, flags))
    return rows


class Missing:
    """A worker that could not be found: every check of it fails with
    why, and the other checks still run."""

    def __init__(self, why):
        self.why = why


def find_worker(master, server_port, client_port, timeout=5):
    """The one descendant of master holding the server end of the
    connection from client_port (the master itself may hold it for a
    moment: not counted), or Missing. More than one holder is a finding
    of its own: each could talk to the client."""
    deadline = time.monotonic() + timeout
    holders = []
    while time.monotonic() < deadline:
        inode = server_socket_inode(master, server_port, client_port)
        if inode:
            want = "socket:[%s]" % inode
            holders = []
            for pid in descendants(master):
                try:
                    if any(t == want for _, t, _ in fd_table(pid)):
                        holders.append(pid)
                except OSError:
                    continue
            if len(holders) == 1:
                return holders[0]
        time.sleep(0.05)
    if holders:
        return Missing("processes %s all hold the server end of the connection "
                       "from port %d; want exactly one worker" % (holders, client_port))
    return Missing("no descendant of master %d holds the server end of the "
                   "connection from port %d" % (master, client_port))


def maps(pid):
    """[(start, end, perms, path)] of pid's mappings."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            start, end = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5].strip() if len(parts) > 5 else ""
            out.append((start, end, parts[1], path))
    return out


# A worker's statistics page (server/stats.h): counters it writes and the
# master reads, one page, made for that worker alone.
STATS_PAGE = "/memfd:cnbd-stats"


def stats_pages(pid):
    """[(inode, size, perms)] of pid's statistics page mappings."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) > 5 and parts[5].strip().replace(" (deleted)", "") == STATS_PAGE:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append((int(parts[4]), end - start, parts[1]))
    return out


def check_stats_pages(workers):
    problems, owner = [], {}
    for what, pid in workers:
        pages = stats_pages(pid)
        if len(pages) != 1 or pages[0][1] != 4096:
            problems.append("the %s maps %s, not one statistics page of 4096 bytes" %
                            (what, pages))
        for inode, _, _ in pages:
            if inode in owner:
                problems.append("the %s and the %s map the same statistics page "
                                "(inode %d)" % (owner[inode], what, inode))
            owner[inode] = what
    return problems


def describe_fds(pid, rows):
    return "fds of %d:\n" % pid + "\n".join(
        "  %3d -> %s (flags %o)" % (fd, t, fl) for fd, t, fl in rows)


def storage_held(pid, storage, rows):
    """Which export storage pid reaches: {label: [how]} for descriptors
    and mappings of the export files, and any memfd."""
    held = {}
    by_path = {path: label for label, path in storage.items()}
    for fd, target, flags in rows:
        if target.startswith(STATS_PAGE):
            continue    # its counters (check 7), not storage
        if target.startswith("/memfd:"):
            held.setdefault("memfd (M)", []).append("fd %d -> %s" % (fd, target))
        elif target in by_path:
            held.setdefault(by_path[target], []).append("fd %d (flags %o)" % (fd, flags))
    for start, end, perms, path in maps(pid):
        clean = path.replace(" (deleted)", "")
        if clean == STATS_PAGE and end - start == 4096:
            continue    # its counters (check 7), not storage
        if clean.startswith("/memfd:"):
            held.setdefault("memfd (M)", []).append("mapped %x-%x %s" % (start, end, perms))
        elif clean in by_path:
            held.setdefault(by_path[clean], []).append("mapped %x-%x %s" % (start, end, perms))
    return held


def unexpected_fds(rows, allowed_paths):
    bad = []
    for fd, target, flags in rows:
        if target.startswith(HARMLESS_PREFIXES) or target in HARMLESS_DEVICES:
            continue
        if target in allowed_paths:
            continue
        bad.append("fd %d -> %s" % (fd, target))
    return bad


# A mapping this large is a sanitizer's shadow memory (ASan maps about
# 14 TiB at once): it holds poisoning state, never program data, and is
# too large to read. Nothing else in a worker or the master comes near.
SHADOW_SIZE = 1 << 40


def untouched_regions(pid):
    """Start addresses of mappings no page of which was ever present
    (Rss and Swap 0 in smaps): they read as zeros, and are not read."""
    out, start = set(), None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                start, rss = int(first.split("-")[0], 16), None
            elif first == "Rss:":
                rss = int(line.split()[1])
            elif first == "Swap:" and start is not None:
                if rss == 0 and int(line.split()[1]) == 0:
                    out.add(start)
    return out


def search_memory(pid, needles):
    """{needle name: [where]} for every needle found in pid's readable
    memory (plus the count of bytes read)."""
    longest = max(len(v) for v in needles.values())
    found = {}
    total = 0
    chunk = 8 << 20
    untouched = untouched_regions(pid)
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        for start, end, perms, path in maps(pid):
            if perms[0] != "r" or path in SKIP_REGIONS or start in untouched:
                continue
            if end - start >= SHADOW_SIZE:
                print("  %d: not read: %#x-%#x (%d GiB, a sanitizer's shadow)"
                      % (pid, start, end, (end - start) >> 30))
                continue
            where = path or "anonymous"
            tail = b""
            off = start
            while off < end:
                try:
                    data = os.pread(fd, min(chunk, end - off), off)
                except OSError:
                    break       # a region that cannot be read (e.g. gone)
                if not data:
                    break
                total += len(data)
                buf = tail + data
                for name, needle in needles.items():
                    i = buf.find(needle)
                    if i >= 0:
                        at = off - len(tail) + i
                        found.setdefault(name, []).append("%s at %#x" % (where, at))
                tail = buf[-(longest - 1):]
                off += len(data)
    finally:
        os.close(fd)
    return found, total


def status_fields(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def exe_and_libc(pid):
    """(start of the executable's first r-xp mapping, libc's base)."""
    exe = os.readlink("/proc/%d/exe" % pid).replace(" (deleted)", "")
    exe_text = libc = None
    for start, end, perms, path in maps(pid):
        if exe_text is None and path == exe and perms.startswith("r-x"):
            exe_text = start
        base = os.path.basename(path)
        if libc is None and re.match(r"libc(\.so|-[0-9])", base):
            libc = start
    return exe, exe_text, libc


# -- the checks -------------------------------------------------------------

def check_idle_fds(pid, storage, log_path):
    rows = fd_table(pid)
    problems = []
    held = storage_held(pid, storage, rows)
    for label, how in sorted(held.items()):
        problems.append("the worker whose client sent nothing holds %s: %s" %
                        (label, ", ".join(how)))
    bad = unexpected_fds(rows, {log_path})
    if bad:
        problems.append("it holds descriptors other than sockets, pipes, "
                        "anonymous inodes, /dev/null-like devices and the log: " +
                        ", ".join(bad))
    if problems:
        problems.append(describe_fds(pid, rows))
    return problems


def check_serving_fds(pid, label, storage, log_path, readonly=False):
    rows = fd_table(pid)
    problems = []
    held = storage_held(pid, storage, rows)
    if label not in held:
        problems.append("the worker serving %s holds no descriptor of %s's storage" %
                        (label, label))
    for other, how in sorted(held.items()):
        if other != label:
            problems.append("the worker serving %s holds %s too: %s" %
                            (label, other, ", ".join(how)))
    if readonly:
        for fd, target, flags in rows:
            if target == storage[label] and flags & O_ACCMODE != os.O_RDONLY:
                problems.append("the worker serving read-only %s holds it open "
                                "for writing: fd %d, flags %o (O_ACCMODE %o, "
                                "want O_RDONLY)" % (label, fd, flags, flags & O_ACCMODE))
    bad = unexpected_fds(rows, {storage[label], log_path})
    if bad:
        problems.append("it holds other descriptors: " + ", ".join(bad))
    if problems:
        problems.append(describe_fds(pid, rows))
    return problems


def check_memory(pid, what, needles):
    found, total = search_memory(pid, needles)
    problems = []
    for name in needles:
        if name in found:
            problems.append("%s found in the %s's memory: %s" %
                            (name, what, ", ".join(found[name][:4])))
    if problems:
        problems.append("(%d bytes of %d's memory searched)" % (total, pid))
    return problems


def check_master_control(master, needles):
    found, total = search_memory(master, needles)
    print("master %d holds: %s" % (master, "; ".join(
        "%s at %s" % (n, ", ".join(w[:2])) for n, w in sorted(found.items()))),
        file=sys.stderr)
    missing = [n for n in needles if n not in found and n != PEM_NEEDLE]
    if not missing:
        return []
    return ["the positive control failed: the master's memory (%d bytes "
            "searched) does not hold %s, so the search for it in workers "
            "proves nothing" % (total, "; ".join(missing))]


def check_confinement(pid, what):
    st = status_fields(pid)
    problems = []
    if st.get("Seccomp", "").strip() != "2":
        problems.append("%s %d: Seccomp: %s, want 2 (a seccomp filter)" %
                        (what, pid, st.get("Seccomp", "missing").strip()))
    if st.get("NoNewPrivs", "").strip() != "1":
        problems.append("%s %d: NoNewPrivs: %s, want 1" %
                        (what, pid, st.get("NoNewPrivs", "missing").strip()))
    for cap in ("CapEff", "CapPrm", "CapBnd"):
        v = st.get(cap, "missing").strip()
        if v == "missing" or int(v, 16) != 0:
            problems.append("%s %d: %s: %s, want all zero" % (what, pid, cap, v))
    return problems


def check_layout(pid, what, master_layout):
    m_exe, m_text, m_libc = master_layout
    exe, text, libc = exe_and_libc(pid)
    problems = []
    if text is None or m_text is None:
        problems.append("%s %d: no r-xp mapping of its executable %s (master: %s)" %
                        (what, pid, exe, m_exe))
    elif text == m_text:
        problems.append("%s %d: its executable's code is at %#x, as in the master "
                        "(%s): forked, not re-executed" % (what, pid, text, exe))
    if libc is None or m_libc is None:
        problems.append("%s %d: libc not found in its maps or the master's" % (what, pid))
    elif libc == m_libc:
        problems.append("%s %d: libc at %#x, as in the master" % (what, pid, libc))
    return problems


# -- clients ----------------------------------------------------------------

def tcp_client(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    return s, s.getsockname()[1]


def nbd_client(srv, export, tls_dir=None):
    """A libnbd handle connected to export over a socket we made, so that
    we know its local port. With tls_dir, over X.509 TLS."""
    s, port = tcp_client(srv)
    h = nbd.NBD()
    h.set_handle_name(nbdtest.name())
    h.set_export_name(export)
    if tls_dir:
        h.set_tls(nbd.TLS_REQUIRE)
        h.set_tls_certificates(tls_dir)
    h.connect_socket(s.detach())
    return h, port


def main():
    nbdtest.need("certtool", "psktool", "bash")
    nbdtest.check(os.getuid() == 0, "this test looks at other users' processes: run it as root")
    tmp = tempfile.mkdtemp(prefix="cnbd-isolation.")
    try:
        run_checks(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_checks(tmp):
    os.chmod(tmp, 0o755)
    tls_dir, key_path, psk_path = make_keys(nbdtest.SRC, tmp)
    needles = key_needles(key_path)
    needles.update(psk_needles(psk_path))
    storage = {
        "A": make_file(os.path.join(tmp, "a.img"), 0o666, b"A-export"),
        "B": make_file(os.path.join(tmp, "b.img"), 0o666, b"B-export"),
        "R": make_file(os.path.join(tmp, "r.img"), 0o644, b"R-export"),
        "S": make_file(os.path.join(tmp, "s.img"), 0o666, b"S-export"),
    }
    exports = {
        "A": {"backend": "file", "path": storage["A"]},
        "B": {"backend": "file", "path": storage["B"]},
        "R": {"backend": "file", "path": storage["R"], "readonly": True},
        "M": {"backend": "memory", "size": "1M"},
        "S": {"backend": "file", "path": storage["S"], "tls": "require"},
    }
    server = {
        "tls": "on",
        "tls-certificates": os.path.join(tls_dir, "pki"),
        "tls-psk-file": psk_path,
        "handshake-timeout": 300,    # the idle client must outlive the test
    }
    res = Results()
    with nbdtest.Server(exports, server=server, unix=False) as srv:
        master = srv.proc.pid
        log_path = os.path.realpath(srv.log)
        idle_sock, idle_port = tcp_client(srv)     # sends nothing, reads nothing
        ha, a_port = nbd_client(srv, "A")
        hr, r_port = nbd_client(srv, "R")
        hs, s_port = nbd_client(srv, "S", tls_dir=os.path.join(tls_dir, "client"))
        nbdtest.check(hs.get_tls_negotiated(), "the client of S did not negotiate TLS")
        # Each client has been served: a read proves the worker is serving.
        for h, name in ((ha, "A"), (hr, "R"), (hs, "S")):
            nbdtest.check(h.pread(8, 0) == name.encode() + b"-export",
                          "export %s did not read back its own data" % name)
        workers = [
            ("worker whose client sent nothing", find_worker(master, srv.port, idle_port)),
            ("worker serving A", find_worker(master, srv.port, a_port)),
            ("worker serving R", find_worker(master, srv.port, r_port)),
            ("worker serving S over TLS", find_worker(master, srv.port, s_port)),
        ]
        pids = [pid for _, pid in workers]
        found = [p for p in pids if not isinstance(p, Missing)]
        nbdtest.check(len(set(found)) == len(found),
                      "one process serves several of the connections: %s" % found)
        print("master %d; %s" % (master, "; ".join(
            "%s: %s" % (w, p.why if isinstance(p, Missing) else p) for w, p in workers)),
            file=sys.stderr)
        idle, wa, wr, ws = pids

        res.run("1 idle_fds: a worker whose client sent nothing holds no storage",
                check_idle_fds, idle, storage, log_path)
        res.run("2 serving_fds: the worker serving A holds A only",
                check_serving_fds, wa, "A", storage, log_path)
        res.run("2 serving_fds: the worker serving S (TLS) holds S only",
                check_serving_fds, ws, "S", storage, log_path)
        res.run("3 readonly_fds: the worker serving R holds R read-only, nothing else",
                check_serving_fds, wr, "R", storage, log_path, True)
        res.run("4 memory control: the master's memory holds the PSK and the primes",
                check_master_control, master, needles)
        for what, pid in workers:
            res.run("4 memory: the %s holds no key" % what,
                    check_memory, pid, what, needles)
        for what, pid in workers:
            res.run("5 confinement: the %s is under seccomp, no privileges" % what,
                    check_confinement, pid, what)
        master_layout = exe_and_libc(master)
        for what, pid in workers:
            res.run("6 layout: the %s has an address layout of its own" % what,
                    check_layout, pid, what, master_layout)

        res.run("7 stats_pages: each worker has a statistics page of its own",
                check_stats_pages, workers)

        for h in (ha, hr, hs):
            h.shutdown()
        idle_sock.close()
        srv.check_alive()

    failed = res.failed()
    print("%d of %d checks failed" % (len(failed), len(res.rows)), file=sys.stderr)
    nbdtest.check(not failed, "worker isolation: %d checks failed:\n  %s" %
                  (len(failed), "\n  ".join(failed)))


nbdtest.main(main)
