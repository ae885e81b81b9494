#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""max-connections = 1, against real clients. While one client holds the
export, a second GO is refused with NBD_REP_ERR_POLICY and a message
naming the export (libnbd shows it in its debug output), EXPORT_NAME is
closed, and INFO and LIST still work. The lease is freed however the
holder ends: its client SIGKILLed, or its worker SIGKILLed; each time a
new client is served within 1 s (measured, printed). A reload that
changes the export keeps counting the old lease (counted by name), and a
client that negotiated before the change is told to connect again.
After 200 connect/disconnect rounds, clean and abrupt, the count is 0."""

import os
import signal
import subprocess
import sys
import time

import nbd
import nbdtest
import rawnbd
from nbdtest import check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_helpers as sh  # noqa: E402

FULL = "export 'single' allows 1 connection and has them all"

HOLDER = r'''
import nbd, sys, time
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pwrite(b"\x5a" * 4096, 0)
with open(sys.argv[2], "w") as f:
    f.write("ready\n")
time.sleep(300)
'''


def hold(srv, tag):
    """A separate client process that holds 'single'; returns it once
    it is in transmission."""
    ready = os.path.join(srv.tmp, "ready-" + tag)
    p = subprocess.Popen(["/usr/bin/python3", "-c", HOLDER, srv.uri("single"), ready])
    deadline = time.monotonic() + 10
    while not os.path.exists(ready):
        check(p.poll() is None, "the holding client %s failed" % tag)
        check(time.monotonic() < deadline, "the holding client %s never connected" % tag)
        time.sleep(0.02)
    return p


def go_refused(srv):
    _, err, said = sh.server_message(lambda h: h.connect_uri(srv.uri("single")))
    check(err is not None, "a second client got 'single' while it was held")
    check("policy" in err.string, "refused GO: libnbd says %r" % err.string)
    check(said == FULL, "the server said %r, want %r" % (said, FULL))


def info_and_list_work(srv):
    h = nbd.NBD()
    h.set_opt_mode(True)
    h.connect_uri(srv.uri("single"))
    h.opt_info()
    check(h.get_size() == 1 << 20, "INFO on a held export: size %d" % h.get_size())
    h.opt_abort()
    check("single" in sh.list_names(srv), "LIST lacks a held export")


def export_name_closed(srv):
    c = rawnbd.connect_tcp(srv.port)
    c.handshake()
    c.send_option(rawnbd.OPT_EXPORT_NAME, b"single")
    check(c.closed_within(5), "EXPORT_NAME on a held export was not closed")
    c.close()


def served_within(srv, what):
    """Connects until GO succeeds; prints and returns the seconds."""
    t0 = time.monotonic()
    while True:
        try:
            h = nbd.NBD()
            h.connect_uri(srv.uri("single"))
            break
        except nbd.Error:
            check(time.monotonic() - t0 < 5, "no client served 5 s after %s" % what)
            time.sleep(0.01)
    took = time.monotonic() - t0
    print("served %.3f s after %s" % (took, what))
    check(h.pread(4096, 0) == b"\x5a" * 4096, "data lost after %s" % what)
    h.shutdown()
    check(took < 1.0, "a new client waited %.3f s after %s (want < 1 s)" % (took, what))
    return took


def only_worker(srv):
    """The master's one child, once transient ones are gone."""
    deadline = time.monotonic() + 5
    while True:
        kids = open("/proc/%d/task/%d/children" % (srv.proc.pid, srv.proc.pid)).read().split()
        if len(kids) == 1:
            return int(kids[0])
        check(time.monotonic() < deadline, "the master has children %s, want one" % kids)
        time.sleep(0.02)


def holder_killed(srv):
    p = hold(srv, "client")
    check(sh.connections(srv, "single") == 1, "nbdctl server list does not show the lease")
    go_refused(srv)
    info_and_list_work(srv)
    export_name_closed(srv)
    p.kill()
    p.wait()
    served_within(srv, "SIGKILL of the holding client")


def worker_killed(srv):
    p = hold(srv, "worker")
    go_refused(srv)
    os.kill(only_worker(srv), signal.SIGKILL)
    served_within(srv, "SIGKILL of the holding worker")
    check("killed by signal 9" in srv.log_text(), "the worker's SIGKILL was not logged")
    p.kill()
    p.wait()


def reload_keeps_count(srv, d):
    p = hold(srv, "reload")
    d.write("single.conf", sh.section("single", backend="memory", size="1M",
                                      max_connections=1, description="changed"))
    line = sh.sighup(srv)
    check("1 changed" in line, "a new description: %s" % line)
    go_refused(srv)     # the lease on the old definition still counts
    p.kill()
    p.wait()
    sh.wait_connections(srv, "single", 0)
    # Negotiating before a change, asking after it: a worker holds no
    # definition until GO, so GO gets the one in force then, and the
    # lease count still holds.
    h = nbd.NBD()
    h.set_opt_mode(True)
    h.set_full_info(True)
    h.connect_uri(srv.uri("single"))
    d.write("single.conf", sh.section("single", backend="memory", size="1M",
                                      max_connections=1, description="again"))
    sh.sighup(srv)
    h.opt_go()
    check(h.get_export_description() == "again",
          "GO after a reload served %r, not the definition in force"
          % h.get_export_description())
    go_refused(srv)     # single use across the reload
    h.shutdown()
    served_within(srv, "a reload")


def rounds(srv, n=200):
    retries = 0
    for i in range(n):
        while True:
            try:
                if i % 2:
                    # Abrupt: in transmission, then gone without DISC.
                    rawnbd.negotiated(srv.port, "single").close()
                else:
                    h = nbd.NBD()
                    h.connect_uri(srv.uri("single"))
                    h.shutdown()
                break
            except (nbd.Error, rawnbd.ProtocolError):
                # The last round's worker may not have ended yet.
                retries += 1
                check(retries < n, "too many refusals: leases are not freed")
                time.sleep(0.005)
    got = sh.wait_connections(srv, "single", 0)
    print("%d rounds, %d retried while the previous worker ended; count %d" %
          (n, retries, got))
    check(got == 0, "after %d rounds the lease count is %d, want 0" % (n, got))


def main():
    nbdtest.need("nbdinfo", "setpriv")
    d = sh.Dir()
    d.write("single.conf", sh.section("single", backend="memory", size="1M",
                                      max_connections=1))
    try:
        with sh.server({"other": {"backend": "null", "size": "1M"}},
                       exports_dir=d) as srv:
            holder_killed(srv)
            worker_killed(srv)
            reload_keeps_count(srv, d)
            rounds(srv)
            srv.check_alive()
    finally:
        d.cleanup()


nbdtest.main(main)
