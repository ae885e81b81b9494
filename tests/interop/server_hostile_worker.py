#!/usr/bin/python3
# A compromised worker can do nothing but serve (issue 11). The hostile
# backend (backends/hostile.c) attacks from inside its own worker when
# its client writes "HOSTILE:<attack>" at offset 0, and leaves the
# outcome at offset 4096. For each attack, with a bystander client
# connected to another export:
#   - the attack failed (an error in the outcome) or killed only the
#     attacking worker (no outcome, connection gone);
#   - the bystander's worker is alive and serves;
#   - no process of the attack survives (hostile-child), no file made by
#     an executed program (the execve marker) appears;
#   - the master did bounded work (flood-master: its log grew by less
#     than 1000 lines) and a new client is served within 1 s.
# Every attack runs, then the test fails naming those that succeeded.
import os
import shutil
import tempfile
import time

import nbd
import nbdtest
from hostile_worker import close, pid_alive, run_attack, served_quickly, workers
from nbdtest import check

SECRET = b"SECRET-OF-OTHER-EXPORT\n"


def holding(pids, path):
    """The one of pids that has path open: the worker serving that file
    (a worker of an earlier, ending connection may be a child too)."""
    found = []
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                    found.append(pid)
                    break
            except OSError:
                pass
    check(len(found) == 1, "one worker holds %s (saw %s)" % (path, found))
    return found[0]


def processes_named(comm):
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() == comm and pid_alive(int(d)):
                    found.append(int(d))
        except OSError:
            pass
    return found


def log_lines(srv):
    return srv.log_text().count("\n")


def make_keys(d):
    """A CA, server certificate and alice's PSK (tests/lib/tls_keys.sh)."""
    script = ('. "$1/tests/lib/common.sh"; . "$1/tests/lib/tls_keys.sh"; '
              'make_tls_keys "$2"')
    nbdtest.run(["bash", "-c", script, "keys", nbdtest.SRC, d])
    return os.path.join(d, "pki"), os.path.join(d, "keys.psk")


def ask_master(srv, questions):
    """What a worker compromised by a plaintext client asks the master
    for: each must be refused, for the reason given. Returns the
    failures."""
    bad = []
    for q, why in questions:
        attacker, pid, text = run_attack(srv, "ask:" + q)
        print("ask %s: %r" % (q, text))
        if text is None:
            bad.append("%s: the worker died asking" % q)
        elif ": refused" not in text or why not in text:
            bad.append("%s: %s (want refused: %s)" % (q, text, why))
        close(attacker)
    # (The master's refusals are logged at a bounded rate shared by all
    # workers: after the flood above they are counted, not each said.)
    return bad


def main():
    marker = "/tmp/hostile-exec.%d" % os.getpid()
    exports = {
        "evil": {"backend": "hostile", "size": "1M"},
        "other": {"backend": "file", "path": None},
        "plain": {"backend": "memory", "size": "1M"},
        "secret": {"backend": "memory", "size": "1M", "tls": "require"},
        # The attacker's client (127.0.0.1) may not use it: the master
        # refuses a worker that asks anyway.
        "guarded": {"backend": "memory", "size": "1M", "deny": "127.0.0.1"},
    }
    attacks = ["fork", "kill:VICTIM", "execve:" + marker, "open-shadow",
               "open-path:OTHER", "flood-master", "mmap-exec"]
    # The system call the master must name when the sandbox ends the
    # attacker (None: the attack is not a system call the sandbox stops).
    trapped = {"fork": "clone", "kill": "kill", "execve": "execve",
               "open-shadow": "openat", "open-path": "openat",
               "flood-master": None, "mmap-exec": "mmap"}
    succeeded = []

    # The other export's file exists before the server starts; the
    # server's tmp directory is made in __enter__, so use our own.
    d = tempfile.mkdtemp(prefix="cnbd-hostile.")
    os.chmod(d, 0o755)
    other = os.path.join(d, "other.img")
    with open(other, "wb") as f:
        f.write(SECRET.ljust(1 << 20, b"\0"))
    os.chmod(other, 0o644)
    exports["other"]["path"] = other
    pki, psk = make_keys(os.path.join(d, "tls"))
    server = {"tls": "on", "tls-certificates": pki, "tls-psk-file": psk}

    with nbdtest.Server(exports, server=server, verbose=True) as srv:
        for cmd in attacks:
            if os.path.exists(marker):
                os.unlink(marker)
            before_ws = workers(srv)
            bystander = srv.connect("other")
            victim = holding(workers(srv) - before_ws, other)
            cmd = cmd.replace("VICTIM", str(victim)).replace("OTHER", other)
            lines_before = log_lines(srv)
            print("attack %s (bystander's worker %d)" % (cmd, victim))
            t0 = time.monotonic()
            attacker, pid, text = run_attack(srv, cmd)
            print("  outcome: %r (%.2f s)" % (text, time.monotonic() - t0))
            time.sleep(0.3)
            bad = []
            if text is not None and ": 0 " in text + " ":
                bad.append("it worked: %s" % text)
            if text is not None and cmd.startswith("open") and SECRET.decode()[:16] in text:
                bad.append("it read the other export's data")
            children = processes_named("hostile-child")
            if children:
                bad.append("a forked child lives on: %s" % children)
                for c in children:
                    os.kill(c, 9)
                time.sleep(0.2)
            # A live child holds the attacker's socket: the server would
            # not close it, and shutdown would wait for the child's end.
            close(attacker)
            if os.path.exists(marker):
                bad.append("an executed program made %s" % marker)
                os.unlink(marker)
            if not pid_alive(victim):
                bad.append("the bystander's worker %d died" % victim)
            else:
                try:
                    bystander.pread(16, 0)
                except nbd.Error as e:
                    bad.append("the bystander cannot read: %s" % e.string)
            grew = log_lines(srv) - lines_before
            if grew >= 50:
                bad.append("the master's log grew by %d lines" % grew)
            call = trapped[cmd.split(":")[0]]
            said = srv.log_text().count(
                "worker %d ended by its sandbox: it called %s" % (pid, call))
            if call and said != 1:
                bad.append("the master said %d times (not once) that the sandbox "
                           "ended worker %d for %s" % (said, pid, call))
            srv.check_alive()
            took = served_quickly(srv)
            if took > 1.0:
                bad.append("a new client waited %.2f s" % took)
            close(bystander)
            if bad:
                print("  ATTACK SUCCEEDED: %s" % "; ".join(bad))
                succeeded.append("%s (%s)" % (cmd.split(":")[0], "; ".join(bad)))
            else:
                print("  held: %s; log +%d lines; new client in %.3f s" %
                      ("worker died" if text is None else "failed", grew, took))
        # Asked of the master by a worker that read plaintext options:
        # another export, a tls = require one, the key's use, a PSK.
        succeeded += ask_master(srv, [
            ("lease:secret", "export 'secret' is served over TLS only"),
            ("lease:guarded", "export 'guarded' is not open to this client"),
            ("lease:plain", "this connection already holds export 'evil'"),
            ("sign", ""), ("psk:alice", "")])
    os.unlink(other)
    shutil.rmtree(d)
    check(not succeeded, "%d of %d attacks succeeded: %s" %
          (len(succeeded), len(attacks), " | ".join(succeeded)))


nbdtest.main(main)
