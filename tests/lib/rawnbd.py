# SPDX-License-Identifier: MIT
"""A tiny hand-written NBD client over a plain socket, for tests that
must send exactly the bytes they choose (unknown options, bad magic,
truncated messages). Constants are the protocol document's."""

import select
import socket
import struct
import time

NBDMAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454F5054
REP_MAGIC = 0x0003e889045565a9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
STRUCTURED_REPLY_MAGIC = 0x668e33ef

FLAG_FIXED_NEWSTYLE = 1 << 0
FLAG_NO_ZEROES = 1 << 1
FLAG_C_FIXED_NEWSTYLE = 1 << 0
FLAG_C_NO_ZEROES = 1 << 1

OPT_EXPORT_NAME = 1
OPT_ABORT = 2
OPT_LIST = 3
OPT_STARTTLS = 5
OPT_INFO = 6
OPT_GO = 7
OPT_STRUCTURED_REPLY = 8
OPT_LIST_META_CONTEXT = 9
OPT_SET_META_CONTEXT = 10

REP_ACK = 1
REP_SERVER = 2
REP_INFO = 3
REP_META_CONTEXT = 4
REP_FLAG_ERROR = 1 << 31
REP_ERR_UNSUP = REP_FLAG_ERROR | 1
REP_ERR_POLICY = REP_FLAG_ERROR | 2
REP_ERR_INVALID = REP_FLAG_ERROR | 3
REP_ERR_PLATFORM = REP_FLAG_ERROR | 4
REP_ERR_TLS_REQD = REP_FLAG_ERROR | 5
REP_ERR_UNKNOWN = REP_FLAG_ERROR | 6
REP_ERR_SHUTDOWN = REP_FLAG_ERROR | 7
REP_ERR_BLOCK_SIZE_REQD = REP_FLAG_ERROR | 8
REP_ERR_TOO_BIG = REP_FLAG_ERROR | 9

INFO_EXPORT = 0
INFO_NAME = 1
INFO_DESCRIPTION = 2
INFO_BLOCK_SIZE = 3

FLAG_HAS_FLAGS = 1 << 0
FLAG_READ_ONLY = 1 << 1
FLAG_SEND_FLUSH = 1 << 2
FLAG_SEND_FUA = 1 << 3
FLAG_ROTATIONAL = 1 << 4
FLAG_SEND_TRIM = 1 << 5
FLAG_SEND_WRITE_ZEROES = 1 << 6
FLAG_SEND_DF = 1 << 7
FLAG_CAN_MULTI_CONN = 1 << 8
FLAG_SEND_RESIZE = 1 << 9
FLAG_SEND_CACHE = 1 << 10
FLAG_SEND_FAST_ZERO = 1 << 11

CMD_READ = 0
CMD_WRITE = 1
CMD_DISC = 2
CMD_FLUSH = 3
CMD_TRIM = 4
CMD_CACHE = 5
CMD_WRITE_ZEROES = 6
CMD_BLOCK_STATUS = 7

CMD_FLAG_FUA = 1 << 0
CMD_FLAG_NO_HOLE = 1 << 1
CMD_FLAG_DF = 1 << 2
CMD_FLAG_REQ_ONE = 1 << 3
CMD_FLAG_FAST_ZERO = 1 << 4

REPLY_FLAG_DONE = 1 << 0
REPLY_TYPE_NONE = 0
REPLY_TYPE_OFFSET_DATA = 1
REPLY_TYPE_OFFSET_HOLE = 2
REPLY_TYPE_BLOCK_STATUS = 5
REPLY_TYPE_ERROR = (1 << 15) + 1
REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2

EPERM = 1
EIO = 5
ENOMEM = 12
EINVAL = 22
ENOSPC = 28
EOVERFLOW = 75
ENOTSUP = 95
ESHUTDOWN = 108


class ProtocolError(Exception):
    pass


class Closed(Exception):
    """The server closed the connection."""


class Reply:
    def __init__(self, option, rtype, data):
        self.option = option
        self.type = rtype
        self.data = data

    @property
    def is_error(self):
        return bool(self.type & REP_FLAG_ERROR)

    def __repr__(self):
        return "Reply(option=%d, type=%#x, len=%d)" % (self.option, self.type,
                                                        len(self.data))


class Raw:
    def __init__(self, sock):
        self.sock = sock
        self.hflags = None

    # -- bytes ------------------------------------------------------------
    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("server closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def closed_within(self, seconds):
        """True when the server closes the connection (EOF or reset)
        within seconds; data that arrives meanwhile is read and dropped."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return False
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True

    def close(self):
        self.sock.close()

    # -- handshake ----------------------------------------------------------
    def read_greeting(self):
        data = self.recv_exact(18)
        magic, opt, hflags = struct.unpack(">QQH", data)
        if magic != NBDMAGIC:
            raise ProtocolError("bad greeting magic %#x" % magic)
        if opt != IHAVEOPT:
            raise ProtocolError("not newstyle: %#x" % opt)
        self.hflags = hflags
        return hflags

    def send_client_flags(self, flags):
        self.send(struct.pack(">I", flags))

    def handshake(self, no_zeroes=True):
        """Greeting and client flags: fixed newstyle, NO_ZEROES if asked
        for and offered."""
        hflags = self.read_greeting()
        cflags = FLAG_C_FIXED_NEWSTYLE
        if no_zeroes and hflags & FLAG_NO_ZEROES:
            cflags |= FLAG_C_NO_ZEROES
        self.send_client_flags(cflags)
        self.no_zeroes = bool(cflags & FLAG_C_NO_ZEROES)
        return hflags

    def send_option(self, option, data=b"", length=None):
        if length is None:
            length = len(data)
        self.send(struct.pack(">QII", IHAVEOPT, option, length) + data)

    def read_reply(self):
        hdr = self.recv_exact(20)
        magic, option, rtype, length = struct.unpack(">QIII", hdr)
        if magic != REP_MAGIC:
            raise ProtocolError("bad option reply magic %#x" % magic)
        if length > 16 << 20:
            raise ProtocolError("option reply of %d bytes" % length)
        return Reply(option, rtype, self.recv_exact(length))

    def replies_until_final(self, option):
        """Replies to option until ACK or an error (inclusive)."""
        out = []
        while True:
            r = self.read_reply()
            if r.option != option:
                raise ProtocolError("reply for option %d while waiting for %d"
                                    % (r.option, option))
            out.append(r)
            if r.type == REP_ACK or r.is_error:
                return out

    @staticmethod
    def info_data(name, requests=()):
        n = name.encode() if isinstance(name, str) else name
        return struct.pack(">I", len(n)) + n + \
            struct.pack(">H", len(requests)) + \
            b"".join(struct.pack(">H", t) for t in requests)

    def opt_info(self, name, requests=(), option=OPT_INFO):
        self.send_option(option, self.info_data(name, requests))
        return self.replies_until_final(option)

    def opt_go(self, name, requests=()):
        return self.opt_info(name, requests, option=OPT_GO)

    def opt_list(self):
        """[(name, description)] from LIST; raises on an error reply."""
        self.send_option(OPT_LIST)
        out = []
        for r in self.replies_until_final(OPT_LIST):
            if r.type == REP_SERVER:
                (n,) = struct.unpack(">I", r.data[:4])
                out.append((r.data[4:4 + n].decode(),
                            r.data[4 + n:].decode()))
            elif r.type != REP_ACK:
                raise ProtocolError("LIST answered %#x" % r.type)
        return out

    def export_name(self, name):
        """EXPORT_NAME: (size, flags); reads the 124 zero bytes unless
        NO_ZEROES was agreed and returns them in self.zeroes."""
        n = name.encode() if isinstance(name, str) else name
        self.send_option(OPT_EXPORT_NAME, n)
        size, flags = struct.unpack(">QH", self.recv_exact(10))
        self.zeroes = b"" if self.no_zeroes else self.recv_exact(124)
        return size, flags

    # -- transmission ------------------------------------------------------
    def request(self, cmd, offset=0, count=0, flags=0, cookie=1, data=b"",
                magic=REQUEST_MAGIC):
        self.send(struct.pack(">IHHQQI", magic, flags, cmd, cookie, offset,
                              count) + data)

    def read_simple_reply(self, read_len=0):
        """(error, cookie, data): data only when error is 0 and read_len."""
        magic, error, cookie = struct.unpack(">IIQ", self.recv_exact(16))
        if magic != SIMPLE_REPLY_MAGIC:
            raise ProtocolError("bad reply magic %#x" % magic)
        data = self.recv_exact(read_len) if error == 0 and read_len else b""
        return error, cookie, data

    def cmd(self, cmd, offset=0, count=0, flags=0, cookie=1, data=b""):
        """Send one request and wait for its simple reply."""
        self.request(cmd, offset, count, flags, cookie, data)
        read_len = count if cmd == CMD_READ else 0
        error, rcookie, rdata = self.read_simple_reply(read_len)
        if rcookie != cookie:
            raise ProtocolError("reply cookie %d for request %d" % (rcookie, cookie))
        return error, rdata

    def disconnect(self):
        self.request(CMD_DISC, cookie=0xd15c)


def parse_info(replies):
    """{info type: parsed} from REP_INFO replies: EXPORT -> (size, flags),
    NAME/DESCRIPTION -> str, BLOCK_SIZE -> (min, pref, max)."""
    out = {}
    for r in replies:
        if r.type != REP_INFO:
            continue
        (t,) = struct.unpack(">H", r.data[:2])
        body = r.data[2:]
        if t == INFO_EXPORT:
            if len(body) != 10:
                raise ProtocolError("INFO_EXPORT of %d bytes" % len(body))
            out[t] = struct.unpack(">QH", body)
        elif t == INFO_BLOCK_SIZE:
            if len(body) != 12:
                raise ProtocolError("INFO_BLOCK_SIZE of %d bytes" % len(body))
            out[t] = struct.unpack(">III", body)
        elif t in (INFO_NAME, INFO_DESCRIPTION):
            out[t] = body.decode()
        else:
            out[t] = body
    return out


def connect_tcp(port, host="127.0.0.1", timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Raw(s)


def connect_unix(path, timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return Raw(s)


def negotiated(port, export, no_zeroes=True):
    """A Raw client in transmission on export (via GO)."""
    c = connect_tcp(port)
    c.handshake(no_zeroes)
    replies = c.opt_go(export, [INFO_BLOCK_SIZE])
    final = replies[-1]
    if final.type != REP_ACK:
        raise ProtocolError("GO %s answered %#x" % (export, final.type))
    c.info = parse_info(replies)
    c.size, c.flags = c.info[INFO_EXPORT]
    return c
