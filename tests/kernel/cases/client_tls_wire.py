#!/usr/bin/python3
"""A recording TCP relay for the client_tls_* kernel cases, and its check.

  client_tls_wire.py relay LISTEN_PORT TARGET_PORT DIR
      accepts on 127.0.0.1:LISTEN_PORT, connects each client to
      127.0.0.1:TARGET_PORT and copies both ways, writing what passed to
      DIR/conn-N.c2s and DIR/conn-N.s2c (N from 1). Runs until killed.
  client_tls_wire.py check DIR PATTERN_HEX
      every recorded connection must be an NBD greeting, STARTTLS and its
      ACK, then nothing but well-formed TLS records; after the handshake
      every record is application data (content type 23); and PATTERN
      must appear nowhere in any stream. Prints what it counted.
"""
import os
import socket
import struct
import sys
import threading


def pump(src, dst, out):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            out.write(b)
            out.flush()
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(listen_port, target_port, outdir):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(16)
    n = 0
    while True:
        c, _ = ls.accept()
        try:
            s = socket.create_connection(("127.0.0.1", target_port))
        except OSError:
            c.close()
            continue
        n += 1
        c2s = open(os.path.join(outdir, "conn-%d.c2s" % n), "wb")
        s2c = open(os.path.join(outdir, "conn-%d.s2c" % n), "wb")
        threading.Thread(target=pump, args=(c, s, c2s), daemon=True).start()
        threading.Thread(target=pump, args=(s, c, s2c), daemon=True).start()


NBD_OPTS_MAGIC = 0x49484156454F5054
NBD_REP_MAGIC = 0x3E889045565A9
NBD_OPT_STARTTLS = 5
NBD_REP_ACK = 1


def records(data, where):
    """Yields (type, length) of each TLS record in data, strictly."""
    off = 0
    while off < len(data):
        if len(data) - off < 5:
            # a connection cut mid-record (a kill) may end short
            return
        ctype, major, minor, length = struct.unpack(">BBBH", data[off:off + 5])
        if ctype not in (20, 21, 22, 23) or major != 3 or length > 16384 + 2048:
            raise SystemExit("%s: offset %d: not a TLS record (type %d, version %d.%d, length %d)"
                             % (where, off, ctype, major, minor, length))
        yield ctype, length
        off += 5 + length


def check_conn(c2s, s2c, where):
    if len(s2c) < 18 + 20 or len(c2s) < 4 + 16:
        raise SystemExit("%s: too short for an NBD negotiation" % where)
    if s2c[:8] != b"NBDMAGIC" or struct.unpack(">Q", s2c[8:16])[0] != NBD_OPTS_MAGIC:
        raise SystemExit("%s: no NBD greeting" % where)
    magic, opt, length = struct.unpack(">QII", c2s[4:20])
    if magic != NBD_OPTS_MAGIC or opt != NBD_OPT_STARTTLS or length != 0:
        raise SystemExit("%s: the client's first option is not STARTTLS" % where)
    magic, opt, rtype, length = struct.unpack(">QIII", s2c[18:38])
    if magic != NBD_REP_MAGIC or opt != NBD_OPT_STARTTLS or rtype != NBD_REP_ACK:
        raise SystemExit("%s: STARTTLS was not acknowledged" % where)
    counts = {}
    for name, stream in (("c2s", c2s[20:]), ("s2c", s2c[38:])):
        seen_app = False
        app = 0
        for ctype, length in records(stream, "%s.%s" % (where, name)):
            if ctype == 23:
                seen_app = True
                app += length
            elif seen_app and ctype == 22:
                # TLS 1.2 has none after the handshake; a 1.3 one would be
                # a visible handshake message, which 1.3 never sends
                raise SystemExit("%s.%s: a plaintext handshake record after application data"
                                 % (where, name))
        counts[name] = app
    return counts


def check(outdir, pattern_hex):
    pattern = bytes.fromhex(pattern_hex)
    conns = sorted(f[:-4] for f in os.listdir(outdir) if f.endswith(".c2s"))
    if not conns:
        raise SystemExit("no connection was recorded")
    total = {"c2s": 0, "s2c": 0}
    for conn in conns:
        c2s = open(os.path.join(outdir, conn + ".c2s"), "rb").read()
        s2c = open(os.path.join(outdir, conn + ".s2c"), "rb").read()
        for name, stream in (("c2s", c2s), ("s2c", s2c)):
            if pattern in stream:
                raise SystemExit("%s.%s: the plaintext pattern is on the wire at offset %d"
                                 % (conn, name, stream.find(pattern)))
        counts = check_conn(c2s, s2c, conn)
        for k in total:
            total[k] += counts[k]
    print("wire: %d connection(s), %d bytes of TLS application data to the server, %d back; "
          "the pattern nowhere" % (len(conns), total["c2s"], total["s2c"]))
    return total


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "relay":
        relay(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        t = check(sys.argv[2], sys.argv[3])
        if len(sys.argv) == 4 and (t["c2s"] < 4 << 20 or t["s2c"] < 4 << 20):
            raise SystemExit("less than 4 MiB each way went over the wire: %r" % t)
    else:
        raise SystemExit(__doc__)
