# SPDX-License-Identifier: MIT
"""The service manager's end of sd_notify(3), for tests: a datagram
socket at a path, handed to a daemon as NOTIFY_SOCKET, that records each
message as it comes (a dict of its KEY=VALUE lines) and can run a check
at the moment one arrives (on_message), the way systemd would see it.

    n = sdnotify.Listener(os.path.join(tmp, "notify"))
    env = dict(os.environ, NOTIFY_SOCKET=n.path)
    ...
    n.wait(lambda m: m.get("READY") == "1", 10, "READY=1")
    n.close()
"""

import socket
import subprocess
import threading
import time

import nbdtest


class Listener:
    def __init__(self, path, on_message=None):
        self.path = path
        self.on_message = on_message
        self.messages = []          # [(monotonic time, {key: value})]
        self.errors = []            # what on_message raised
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            msg = {}
            for line in data.decode(errors="replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    msg[k] = v
            if self.on_message:
                try:
                    self.on_message(msg)
                except Exception as e:      # reported by the test
                    self.errors.append("%s: %s" % (msg, e))
            with self.cond:
                self.messages.append((time.monotonic(), msg))
                self.cond.notify_all()

    def since(self, start=0):
        """Messages from index start on."""
        with self.cond:
            return [m for _, m in self.messages[start:]]

    def count(self):
        with self.cond:
            return len(self.messages)

    def wait(self, pred, timeout, what, start=0):
        """The first message from index start on that pred accepts; raises
        AssertionError naming what (and every message seen) on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.messages)):
                    if pred(self.messages[i][1]):
                        return i, self.messages[i][1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %s within %.0f s; messages: %s" %
                                         (what, timeout, [m for _, m in self.messages]))
                self.cond.wait(left)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def finish(error, log, proc, listener, tmp):
    """The end of a test around a daemon: on an error, the log's tail and
    the failure; always, the daemon killed if it still runs, the
    listener closed and tmp removed."""
    if proc is not None and proc.poll() is None:
        proc.kill()
    listener.close()
    if error is not None:
        print(open(log, errors="replace").read()[-3000:])
    subprocess.run(["rm", "-rf", tmp])
    if error is not None:
        nbdtest.fail(str(error))
