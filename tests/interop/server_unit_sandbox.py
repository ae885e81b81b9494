#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""nbd-serverd works under its own unit's restrictions (root): the
capability bounding set, NoNewPrivileges, the system call deny list,
RestrictAddressFamilies, MemoryDenyWriteExecute and UMask of
server/nbd-serverd.service, applied by tests/lib/unit_sandbox.c without
a systemd. Under them the master loads its backends, drops its workers
to nobody into their own seccomp sandbox, serves reads and writes over
TCP and Unix sockets, answers its control socket, reloads on SIGHUP and
stops on SIGTERM. Controls that the harness bites: without CAP_SETUID in
the set no worker serves, with seccomp(2) denied no worker serves, and
without AF_INET6 a listen line on [::1] fails the start.
"""

import os
import signal
import subprocess
import tempfile
import time

import nbdtest
import unit_settings
from nbdtest import check

UNIT = os.path.join(nbdtest.SRC, "server", "nbd-serverd.service")
NBDCTL = os.path.join(nbdtest.BUILD, "nbdctl")


def start(args, conf, log):
    env = dict(os.environ)
    # LeakSanitizer (make SANITIZE=1) checks at exit by ptrace, which the
    # unit's filter denies (@debug): the leak check is the other tests'.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return subprocess.Popen([unit_settings.UNIT_SANDBOX] + args + ["--", nbdtest.SERVERD,
                                                                  "-f", "-c", conf],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)


def wait_listening(proc, port, log):
    deadline = time.monotonic() + 10
    while not nbdtest._probe(("127.0.0.1", port)):
        check(time.monotonic() < deadline and proc.poll() is None,
              "the server did not start: %s" % open(log, errors="replace").read())
        time.sleep(0.05)


def served(port):
    """A read and a write through a worker; False when refused."""
    import nbd
    h = nbd.NBD()
    try:
        h.set_export_name("disk")
        h.connect_tcp("127.0.0.1", str(port))
        h.pwrite(b"unit" * 1024, 8192)
        ok = h.pread(4096, 8192) == b"unit" * 1024
        h.shutdown()
        return ok
    except nbd.Error:
        return False


def write_conf(conf, port, tmp, extra=""):
    disk = os.path.join(tmp, "disk.img")
    if not os.path.exists(disk):
        with open(disk, "wb") as f:
            f.truncate(16 << 20)
        os.chmod(disk, 0o666)
    with open(conf, "w") as f:
        f.write(nbdtest.config_text(
            {"disk": {"backend": "file", "path": disk},
             "ram": {"backend": "memory", "size": "4M"}},
            ["127.0.0.1:%d" % port, "unix:" + os.path.join(tmp, "nbd.sock")],
            {"control": os.path.join(tmp, "control.sock")}) + extra)


def main():
    check(os.geteuid() == 0, "needs root (the drop to nobody is what is tested)")
    nbdtest.need("systemd-analyze", "nbdinfo")
    check(os.access(unit_settings.UNIT_SANDBOX, os.X_OK), "unit-sandbox is not built")
    args = unit_settings.sandbox_args(UNIT)
    tmp = tempfile.mkdtemp(prefix="cnbd-unit.")
    os.chmod(tmp, 0o755)
    conf, log = os.path.join(tmp, "cnbd.conf"), os.path.join(tmp, "server.log")
    port = nbdtest.free_port()
    write_conf(conf, port, tmp)
    proc = None
    try:
        proc = start(args, conf, log)
        wait_listening(proc, port, log)
        check(served(port), "no read and write under the unit's restrictions: %s" %
              open(log, errors="replace").read())
        size = nbdtest.run(["nbdinfo", "--size", "nbd+unix:///ram?socket=%s" %
                            os.path.join(tmp, "nbd.sock")]).strip()
        check(size == "4194304", "the memory export over the Unix socket: %r" % size)
        r = subprocess.run([NBDCTL, "server", "--socket", os.path.join(tmp, "control.sock"),
                            "list"], capture_output=True, timeout=20)
        check(r.returncode == 0 and b"ram" in r.stdout, "the control socket: %r" % r.stderr)
        write_conf(conf, port, tmp, "\n[more]\nbackend = null\nsize = 1M\n")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "SIGHUP: reloaded" not in open(log, errors="replace").read():
            check(time.monotonic() < deadline, "no reload: %s" % open(log).read())
            time.sleep(0.1)
        check(nbdtest.run(["nbdinfo", "--size", "nbd://127.0.0.1:%d/more" % port]).strip()
              == "1048576", "the reloaded export")
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(10) == 0, "exit %s after SIGTERM" % proc.returncode)
        text = open(log, errors="replace").read()
        check("error" not in text and "sandbox" not in text,
              "errors under the unit's restrictions: %s" % text)

        # The controls: each restriction tightened too far must bite.
        caps = args[args.index("--keep-caps") + 1]
        tight = list(args)
        tight[tight.index("--keep-caps") + 1] = caps.replace("CAP_SETUID,", "")
        for what, extra in (("without CAP_SETUID", tight), ("with seccomp denied",
                                                             args + ["--deny", "seccomp"])):
            open(log, "w").close()
            proc = start(extra, conf, log)
            wait_listening(proc, port, log)
            check(not served(port), "served %s: the harness does not apply it" % what)
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        fam = list(args)
        fam[fam.index("--families") + 1] = "AF_UNIX,AF_INET"
        write_conf(conf, port, tmp)
        with open(conf) as f:
            text = f.read().replace("listen = 127.0.0.1:%d" % port,
                                    "listen = 127.0.0.1:%d\nlisten = [::1]:%d" % (port, port))
        with open(conf, "w") as f:
            f.write(text)
        open(log, "w").close()
        proc = start(fam, conf, log)
        check(proc.wait(10) == 1, "listened on [::1] without AF_INET6: %s" % open(log).read())
    except nbdtest.TestFailure as e:
        print(open(log, errors="replace").read()[-3000:])
        nbdtest.fail(str(e))
    finally:
        if proc and proc.poll() is None:
            proc.kill()
        subprocess.run(["rm", "-rf", tmp])
    print("ok")


main()
