#!/usr/bin/python3
# examples/ramdisk serves a buffer in its own memory through libcnbd's
# embeddable server. Real clients (nbdinfo, libnbd) must see the export
# with its description, read back what they wrote over two connections at
# once, and the program must stop cleanly on SIGTERM.
import json, os, signal, socket, subprocess, time

import nbd
from nbdtest import TestFailure, check, free_port, main, need, run

BUILD = os.environ.get("CNBD_BUILD", "build")


def wait_listening(port, proc):
    for _ in range(100):
        if proc.poll() is not None:
            raise TestFailure("ramdisk exited early with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TestFailure("ramdisk is not listening on port %d" % port)


def test():
    need("nbdinfo")
    port = free_port()
    proc = subprocess.Popen([os.path.join(BUILD, "examples/ramdisk"),
                             "127.0.0.1:%d" % port, "16M"])
    try:
        wait_listening(port, proc)
        info = json.loads(run(["nbdinfo", "--json", "--list",
                               "nbd://127.0.0.1:%d" % port]))
        exports = {e["export-name"]: e for e in info["exports"]}
        check(set(exports) == {"ram"}, "exports listed: %s" % list(exports))
        ram = exports["ram"]
        check(ram["export-size"] == 16 << 20, "size %d" % ram["export-size"])
        check(ram.get("description") == "a buffer in ramdisk's memory",
              "description %r" % ram.get("description"))
        check(ram["can_multi_conn"] and ram["can_flush"] and not ram["is_read_only"],
              "flags: %s" % ram)

        uri = "nbd://127.0.0.1:%d/ram" % port
        a, b = nbd.NBD(), nbd.NBD()
        a.connect_uri(uri)
        b.connect_uri(uri)
        data = os.urandom(1 << 20)
        a.pwrite(data, 3 << 20)
        a.flush()
        check(b.pread(1 << 20, 3 << 20) == data,
              "the second connection does not see the first one's write")
        check(b.pread(4096, 0) == bytes(4096), "unwritten bytes are not zero")
        a.shutdown()
        b.shutdown()

        c = nbd.NBD()
        c.connect_uri(uri)
        check(c.pread(1 << 20, 3 << 20) == data, "data gone after reconnecting")
        c.shutdown()

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        check(rc == 0, "ramdisk exited %d after SIGTERM" % rc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


main(test)
