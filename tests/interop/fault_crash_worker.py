#!/usr/bin/python3
# A backend that crashes (crashy: a NULL dereference when a read touches
# crash-at) takes down its own worker only. Two clients are connected;
# the first reads the crash offset and loses its connection; the master
# logs how the worker died and keeps serving: the second client goes on
# reading and writing on its connection, and new clients connect and see
# what was written and flushed before and after the crash.
import re
import time

import nbd
import nbdtest
from nbdtest import check

MiB = 1 << 20
# How the master reports a worker that crashed: by the signal, or by the
# exit status a sanitizer's handler chose.
DIED = r"worker (\d+) (killed by signal 11|exited with status [1-9][0-9]*)"


def wait_log(srv, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, srv.log_text())
        if m:
            return m
        time.sleep(0.1)
    raise nbdtest.TestFailure("no log line matching %r within %d s" % (pattern, timeout))


def main():
    # crash-at is a byte inside a block: any read that covers it crashes.
    exports = {"boom": {"backend": "crashy", "size": "16M", "crash-at": str(4 * MiB + 1)}}
    # verbose: a sanitizer build's worker ends with status 1 instead of
    # the signal, which the master logs at debug level only.
    with nbdtest.Server(exports, verbose=True) as srv:
        victim = srv.connect("boom")
        other = srv.connect("boom")
        other.pwrite(b"\xa1" * 65536, 0)
        other.flush()
        victim.pwrite(b"\xb2" * 4096, 8 * MiB)
        victim.flush()

        # Reads next to the crash offset are fine; the one touching it
        # kills the victim's worker.
        check(victim.pread(4096, 4 * MiB - 4096) == b"\0" * 4096, "read before crash-at")
        try:
            victim.pread(4096, 4 * MiB)
            raise nbdtest.TestFailure("the read of crash-at returned")
        except nbd.Error as e:
            print("victim's read failed as it should: %s" % e.string)
        m = wait_log(srv, DIED)
        print("master: %s" % m.group(0))
        srv.check_alive()

        # The other connection never noticed.
        for i in range(100):
            other.pwrite(bytes([i]) * 4096, MiB + i * 4096)
        other.flush()
        check(other.pread(65536, 0) == b"\xa1" * 65536, "other client's data after the crash")
        check(other.pread(4096, MiB + 99 * 4096) == bytes([99]) * 4096, "other client's new write")

        # New clients connect, see every flushed write, and can crash
        # their own worker again without harm.
        for n in range(3):
            h = srv.connect("boom")
            check(h.pread(4096, 8 * MiB) == b"\xb2" * 4096, "victim's flushed write, client %d" % n)
            check(h.pread(4096, MiB + 7 * 4096) == bytes([7]) * 4096, "other's write, client %d" % n)
            h.shutdown()
        again = srv.connect("boom")
        try:
            again.pread(512, 4 * MiB + 1)
        except nbd.Error:
            pass
        wait_log(srv, DIED.replace(r"(\d+)", r"(?!%s\b)(\d+)" % m.group(1)))
        check(other.pread(4096, 0) == b"\xa1" * 4096, "other client after a second crash")
        other.shutdown()
        srv.check_alive()


nbdtest.main(main)
