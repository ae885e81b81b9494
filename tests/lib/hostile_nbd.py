# SPDX-License-Identifier: MIT
"""A fake NBD server that misbehaves on purpose, for the tests of what
nbd-clientd and nbdctl trust of a server (docs/client.md "What
nbd-clientd trusts of a server"). It listens on 127.0.0.1 and speaks just
enough fixed newstyle to be hostile; each connection is served in its
own thread as `mode` says when it arrives:

    good      GO/INFO answered (with `info_name` and `description` as
              NBD_INFO_NAME and NBD_INFO_DESCRIPTION when set), then
              transmission from an in-memory disk, so that the kernel
              can use it (the VM case); LIST answers `list_names`
    refuse    GO answered NBD_REP_ERR_UNKNOWN with `error_text`
    drip      the greeting a byte at a time, one every `drip` seconds,
              then REP_INFO replies to GO, dripped the same way, forever
    short     GO answered by a reply header promising 100 bytes, 10 sent,
              then silence (the connection stays open)
    endless   GO answered by REP_INFO replies (an unknown type), one every
              `every` seconds, never an ACK

    srv = HostileServer()           # srv.port; srv.mode = "drip" ...
    srv.close()
"""

import socket
import struct
import threading
import time

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REP_MAGIC = 0x0003E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_INFO, OPT_GO = 1, 2, 3, 6, 7
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
REP_ERR_UNSUP = (1 << 31) | 1
REP_ERR_UNKNOWN = (1 << 31) | 6
INFO_EXPORT, INFO_NAME, INFO_DESCRIPTION = 0, 1, 2
# HAS_FLAGS | SEND_FLUSH: a plain writable disk.
TX_FLAGS = 0x0001 | 0x0004
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH = 0, 1, 2, 3


class Gone(Exception):
    pass


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise Gone()
        buf += chunk
    return buf


class HostileServer:
    def __init__(self, size=16 << 20):
        self.mode = "good"
        self.info_name = None           # bytes: NBD_INFO_NAME to send
        self.description = None         # bytes: NBD_INFO_DESCRIPTION
        self.error_text = b""
        self.list_names = [(b"disk", b"")]
        self.drip = 0.5
        self.every = 0.1
        self.disk = bytearray(size)
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closing = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def uri(self, export="disk"):
        return "nbd://127.0.0.1:%d/%s" % (self.port, export)

    def close(self):
        self.closing = True
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c, self.mode),
                             daemon=True).start()

    def _serve(self, c, mode):
        try:
            self._session(c, mode)
        except (Gone, OSError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _dripped(self, c, data):
        for b in data:
            if self.closing:
                raise Gone()
            c.sendall(bytes([b]))
            time.sleep(self.drip)

    def _reply(self, c, opt, rtype, data=b""):
        c.sendall(struct.pack(">QIII", REP_MAGIC, opt, rtype, len(data)) + data)

    def _session(self, c, mode):
        greeting = struct.pack(">QQH", NBDMAGIC, IHAVEOPT, 0x0003)
        if mode == "drip":
            self._dripped(c, greeting)
        else:
            c.sendall(greeting)
        recv_exact(c, 4)                                # client flags
        while True:
            magic, opt, length = struct.unpack(">QII", recv_exact(c, 16))
            if magic != IHAVEOPT:
                return
            data = recv_exact(c, length)
            if opt == OPT_ABORT:
                self._reply(c, opt, REP_ACK)
                return
            if opt == OPT_LIST:
                for name, desc in self.list_names:
                    self._reply(c, opt, REP_SERVER,
                                struct.pack(">I", len(name)) + name + desc)
                self._reply(c, opt, REP_ACK)
                continue
            if opt not in (OPT_GO, OPT_INFO):
                self._reply(c, opt, REP_ERR_UNSUP)
                continue
            if self._go(c, mode, opt, data):
                return self._transmission(c)

    def _go(self, c, mode, opt, data):
        """Answers GO or INFO; True when transmission begins."""
        unknown = struct.pack(">H", 99) + b"x"
        if mode == "drip":
            while True:
                self._dripped(c, struct.pack(">QIII", REP_MAGIC, opt, REP_INFO,
                                             len(unknown)) + unknown)
        if mode == "short":
            c.sendall(struct.pack(">QIII", REP_MAGIC, opt, REP_INFO, 100) + b"\0" * 10)
            while not self.closing:
                time.sleep(0.2)
            raise Gone()
        if mode == "endless":
            while not self.closing:
                self._reply(c, opt, REP_INFO, unknown)
                time.sleep(self.every)
            raise Gone()
        if mode == "refuse":
            self._reply(c, opt, REP_ERR_UNKNOWN, self.error_text)
            return False
        self._reply(c, opt, REP_INFO, struct.pack(">HQH", INFO_EXPORT,
                                                  len(self.disk), TX_FLAGS))
        if self.info_name is not None:
            self._reply(c, opt, REP_INFO, struct.pack(">H", INFO_NAME) + self.info_name)
        if self.description is not None:
            self._reply(c, opt, REP_INFO,
                        struct.pack(">H", INFO_DESCRIPTION) + self.description)
        self._reply(c, opt, REP_ACK)
        return opt == OPT_GO

    def _transmission(self, c):
        while True:
            magic, _flags, cmd, cookie, off, length = struct.unpack(
                ">IHHQQI", recv_exact(c, 28))
            if magic != REQ_MAGIC or cmd == CMD_DISC:
                return
            err, data = 0, b""
            if cmd == CMD_WRITE:
                payload = recv_exact(c, length)
            if off + length > len(self.disk):
                err = 22                                # EINVAL
            elif cmd == CMD_READ:
                data = bytes(self.disk[off:off + length])
            elif cmd == CMD_WRITE:
                self.disk[off:off + length] = payload
            c.sendall(struct.pack(">IIQ", SIMPLE_REPLY_MAGIC, err, cookie) +
                      (data if not err else b""))
