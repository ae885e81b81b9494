#!/usr/bin/python3
# faulty's fail-rate fails about that share of requests, each with the
# configured errno, and the connection survives every one of them; and a
# faulty export with a bad parameter stops the server at start with the
# reason (a typo never silently becomes "no faults").
import errno
import os
import subprocess
import tempfile

import nbd
import nbdtest
from nbdtest import check

N = 400


def refused(params, expect):
    """The server refuses to start with this faulty export; the message
    contains expect."""
    with tempfile.TemporaryDirectory(prefix="cnbd-test.") as tmp:
        conf = os.path.join(tmp, "cnbd.conf")
        with open(conf, "w") as f:
            f.write(nbdtest.config_text({"bad": dict(backend="faulty", **params)},
                                        ["127.0.0.1:%d" % nbdtest.free_port()],
                                        {"control": "off"}))
        p = subprocess.run([nbdtest.SERVERD, "-f", "-c", conf], timeout=20,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode(errors="replace")
        check(p.returncode != 0, "the server started with %r:\n%s" % (params, out))
        check(expect in out, "no %r in the refusal of %r:\n%s" % (expect, params, out))
        print("refused %r: %s" % (params, out.strip().splitlines()[-1]))


def main():
    exports = {"flaky": {"backend": "faulty", "size": "8M", "fail-rate": "0.25",
                         "fail-errno": "EIO", "seed": 42}}
    with nbdtest.Server(exports) as srv:
        h = srv.connect("flaky")
        failed = 0
        for i in range(N):
            try:
                if i % 2:
                    h.pread(4096, (i % 64) * 4096)
                else:
                    h.pwrite(b"z" * 4096, (i % 64) * 4096)
            except nbd.Error as e:
                check(nbdtest.nbd_errno(e) == errno.EIO, "errno %s" % e.errno)
                failed += 1
        print("%d of %d requests failed with fail-rate 0.25" % (failed, N))
        check(N * 0.15 < failed < N * 0.35, "%d of %d failed; expected about 25%%" % (failed, N))
        h.shutdown()

    refused({"fail-errno": "EWHATEVER"}, "fail-errno")
    refused({"fail-read": "1M"}, "OFFSET-LENGTH")
    refused({"fail-rate": "2"}, "fail-rate")
    refused({"delay-read-ms": "-5"}, "delay-read-ms")
    refused({"inner": "nosuchbackend"}, "nosuchbackend")
    refused({"inner": "../memory"}, "not a backend name")
    refused({"sise": "8M"}, "sise")


nbdtest.main(main)
