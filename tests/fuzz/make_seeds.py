#!/usr/bin/python3
"""Writes the hand-made seed corpus, tests/fuzz/corpus/<target>/<name>.

Seeds are what a well-behaved peer sends (and a few near misses), built
from the protocol document's wire formats, so that the fuzzer starts past
the magic numbers and explores what follows. Run it again after editing;
the files it writes are committed, so the fuzzer does not need it.
"""
import os
import struct
import sys

IHAVEOPT = 0x49484156454F5054
NBDMAGIC = 0x4E42444D41474943
REP_MAGIC = 0x0003E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCT_MAGIC = 0x668E33EF

OPT = dict(EXPORT_NAME=1, ABORT=2, LIST=3, STARTTLS=5, INFO=6, GO=7,
           STRUCTURED_REPLY=8, LIST_META_CONTEXT=9, SET_META_CONTEXT=10)
REP = dict(ACK=1, SERVER=2, INFO=3, META_CONTEXT=4,
           ERR_UNSUP=0x80000001, ERR_POLICY=0x80000002,
           ERR_UNKNOWN=0x80000006)
CMD = dict(READ=0, WRITE=1, DISC=2, FLUSH=3, TRIM=4, CACHE=5,
           WRITE_ZEROES=6, BLOCK_STATUS=7)
FUA, NO_HOLE, DF, REQ_ONE, FAST_ZERO = 1, 2, 4, 8, 16
CFLAGS = struct.pack(">I", 3)          # FIXED_NEWSTYLE | NO_ZEROES


def be16(v): return struct.pack(">H", v)
def be32(v): return struct.pack(">I", v)
def be64(v): return struct.pack(">Q", v)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return be32(len(b)) + b


def option(name, data=b""):
    return be64(IHAVEOPT) + be32(OPT[name]) + be32(len(data)) + data


def info_go(name, export, *infos):
    return option(name, string(export) + be16(len(infos)) +
                  b"".join(be16(i) for i in infos))


def meta(name, export, *queries):
    return option(name, string(export) + be32(len(queries)) +
                  b"".join(string(q) for q in queries))


def request(cmd, offset=0, count=0, flags=0, cookie=1, payload=b""):
    return (be32(REQ_MAGIC) + be16(flags) + be16(CMD[cmd]) + be64(cookie) +
            be64(offset) + be32(count) + payload)


def go(export="a"):
    return info_go("GO", export, 3)


def server_options():
    s = {}
    s["flags_only"] = CFLAGS
    s["list"] = CFLAGS + option("LIST")
    s["list_with_data"] = CFLAGS + option("LIST", b"xx")
    s["info_all"] = CFLAGS + info_go("INFO", "a", 0, 1, 2, 3, 42)
    s["info_then_go"] = CFLAGS + info_go("INFO", "b", 3) + go("b")
    s["go_default"] = CFLAGS + info_go("GO", "")
    s["go_b_block"] = CFLAGS + go("b")
    s["go_locked"] = CFLAGS + go("locked") + go("a")
    s["go_unknown"] = CFLAGS + go("nope") + option("ABORT")
    # What an nbd-serverd worker sees before GO: descriptions only.
    s["info_described"] = CFLAGS + info_go("INFO", "described", 0, 1, 2, 3)
    s["go_described_read"] = (CFLAGS + go("described") + request("READ", 0, 512) +
                              request("DISC"))
    s["info_go_undescribed"] = CFLAGS + info_go("INFO", "unknown", 3) + go("unknown")
    s["go_then_read"] = CFLAGS + go() + request("READ", 0, 512) + request("DISC")
    s["export_name"] = CFLAGS + option("EXPORT_NAME", b"a") + request("READ", 0, 16)
    s["export_name_zeroes"] = be32(1) + option("EXPORT_NAME", b"b")
    s["export_name_default"] = CFLAGS + option("EXPORT_NAME")
    s["structured"] = CFLAGS + option("STRUCTURED_REPLY") + go()
    s["structured_data"] = CFLAGS + option("STRUCTURED_REPLY", b"x")
    s["meta_list_all"] = (CFLAGS + option("STRUCTURED_REPLY") +
                          meta("LIST_META_CONTEXT", "a"))
    s["meta_list_base"] = (CFLAGS + option("STRUCTURED_REPLY") +
                           meta("LIST_META_CONTEXT", "a", "base:", "qemu:dirty"))
    s["meta_set"] = (CFLAGS + option("STRUCTURED_REPLY") +
                     meta("SET_META_CONTEXT", "a", "base:allocation") + go() +
                     request("BLOCK_STATUS", 0, 65536))
    s["meta_no_structured"] = CFLAGS + meta("SET_META_CONTEXT", "a", "base:allocation")
    s["starttls"] = CFLAGS + option("STARTTLS") + option("LIST")
    s["unknown_option"] = CFLAGS + be64(IHAVEOPT) + be32(99) + be32(3) + b"abc" + option("LIST")
    s["abort"] = CFLAGS + option("ABORT")
    s["truncated"] = CFLAGS + be64(IHAVEOPT) + be32(OPT["GO"]) + be32(100) + b"\0\0"
    s["huge_length"] = CFLAGS + be64(IHAVEOPT) + be32(OPT["INFO"]) + be32(0x7FFFFFFF)
    s["bad_magic"] = CFLAGS + be64(0x1122334455667788) + be32(3) + be32(0)
    s["info_bad_count"] = CFLAGS + option("INFO", string("a") + be16(9) + be16(1))
    return s


def server_requests():
    """First byte: bit 0 export b, bit 1 structured, bit 2 base:allocation."""
    s = {}
    w4k = bytes(range(256)) * 16
    for how, tag in ((0, "a"), (1, "b"), (2, "a_sr"), (6, "a_meta"), (7, "b_meta")):
        pre = bytes([how])
        s[tag + "_read"] = pre + request("READ", 4096, 4096)
        s[tag + "_write_read"] = (pre + request("WRITE", 8192, 4096, payload=w4k) +
                                  request("READ", 8192, 4096, cookie=2))
        s[tag + "_mixed"] = (pre + request("WRITE", 0, 512, FUA, payload=w4k[:512]) +
                             request("FLUSH", cookie=2) +
                             request("TRIM", 4096, 8192, cookie=3) +
                             request("WRITE_ZEROES", 16384, 4096, NO_HOLE, cookie=4) +
                             request("WRITE_ZEROES", 20480, 4096, FAST_ZERO, cookie=5) +
                             request("CACHE", 0, 65536, cookie=6) +
                             request("DISC", cookie=7))
        s[tag + "_status"] = (pre + request("WRITE", 4096, 4096, payload=w4k) +
                              request("BLOCK_STATUS", 0, 65536, cookie=2) +
                              request("BLOCK_STATUS", 0, 65536, REQ_ONE, cookie=3))
    s["df_read"] = bytes([2]) + request("READ", 0, 65536, DF)
    s["past_end"] = bytes([0]) + request("READ", (1 << 20) - 512, 4096)
    s["eio_block"] = bytes([0]) + request("READ", (1 << 20) - 4096, 4096)
    s["enospc_block"] = bytes([2]) + request("WRITE", (1 << 20) - 8192, 16, payload=b"x" * 16)
    s["unaligned_b"] = bytes([1]) + request("READ", 1, 7)
    s["oversize_b"] = bytes([1]) + request("WRITE", 0, 1 << 20)
    s["unknown_cmd"] = bytes([0]) + be32(REQ_MAGIC) + be16(0) + be16(42) + be64(1) + be64(0) + be32(0)
    s["unknown_flags"] = bytes([0]) + request("READ", 0, 512, 0x8000)
    s["zero_length"] = bytes([0]) + request("READ", 0, 0) + request("TRIM", 0, 0, cookie=2)
    s["bad_magic"] = bytes([0]) + be32(0xDEADBEEF) + bytes(24)
    s["pipelined"] = bytes([1]) + b"".join(request("READ", i * 4096, 4096, cookie=i) for i in range(32))
    return s


def c_greeting(flags=3):
    return be64(NBDMAGIC) + be64(IHAVEOPT) + be16(flags)


def c_reply(opt, rep, data=b""):
    return be64(REP_MAGIC) + be32(OPT[opt]) + be32(REP[rep]) + be32(len(data)) + data


def c_info_export(opt, size=1 << 20, flags=0x0D6D):
    return c_reply(opt, "INFO", be16(0) + be64(size) + be16(flags))


def c_simple(cookie, error=0, data=b""):
    return be32(SIMPLE_MAGIC) + be32(error) + be64(cookie) + data


def client_replies():
    """Script: [op | 4 for "disk"], [calls], [length be16]; then server bytes."""
    s = {}
    go_ok = (c_greeting() + c_info_export("GO") +
             c_reply("GO", "INFO", be16(3) + be32(512) + be32(4096) + be32(65536)) +
             c_reply("GO", "INFO", be16(1) + b"disk") +
             c_reply("GO", "INFO", be16(2) + b"a disk") +
             c_reply("GO", "INFO", be16(9) + b"unknown") +
             c_reply("GO", "ACK"))
    s["go_only"] = bytes([4, 0, 0, 0]) + go_ok
    s["go_read"] = bytes([4, 1, 0x10, 0]) + go_ok + c_simple(1, data=bytes(4096))
    s["go_all_calls"] = (bytes([4, 63, 0x02, 0]) + go_ok + c_simple(1, data=bytes(512)) +
                         c_simple(2) + c_simple(3) + c_simple(4) + c_simple(5) +
                         c_simple(6, data=bytes(512)))
    s["go_read_error"] = bytes([0, 1, 0x10, 0]) + go_ok + c_simple(1, 5)
    s["go_split"] = (bytes([0, 1, 0xFF, 0xFF]) + c_greeting() + c_info_export("GO") +
                     c_reply("GO", "INFO", be16(3) + be32(1) + be32(4096) + be32(4096)) +
                     c_reply("GO", "ACK") +
                     b"".join(c_simple(i + 1, data=bytes(4096)) for i in range(16)))
    s["go_structured_reply"] = (bytes([0, 1, 0, 16]) + go_ok +
                                be32(STRUCT_MAGIC) + be16(1) + be16(1) + be64(1) + be32(0))
    s["go_bad_cookie"] = bytes([0, 1, 0, 16]) + go_ok + c_simple(99, data=bytes(16))
    s["go_unsup_export_name"] = (bytes([0, 1, 0, 16]) + c_greeting() +
                                 c_reply("GO", "ERR_UNSUP") + be64(1 << 20) + be16(0x0D) +
                                 c_simple(1, data=bytes(16)))
    s["oldstyle_flags"] = (bytes([0, 2, 0, 16]) + c_greeting(0) + be64(1 << 20) +
                           be16(0x01) + bytes(124) + c_simple(1))
    s["go_unknown"] = bytes([0, 0, 0, 0]) + c_greeting() + c_reply("GO", "ERR_UNKNOWN", b"no such export")
    s["go_policy"] = bytes([4, 0, 0, 0]) + c_greeting() + c_reply("GO", "ERR_POLICY", b"in use")
    s["go_no_export_info"] = bytes([0, 0, 0, 0]) + c_greeting() + c_reply("GO", "ACK")
    s["go_bad_blocks"] = (bytes([0, 0, 0, 0]) + c_greeting() + c_info_export("GO") +
                          c_reply("GO", "INFO", be16(3) + be32(3) + be32(4096) + be32(100)) +
                          c_reply("GO", "ACK"))
    s["info"] = bytes([1, 0, 0, 0]) + go_ok.replace(be32(OPT["GO"]), be32(OPT["INFO"]))
    s["list"] = (bytes([2, 0, 0, 0]) + c_greeting() +
                 c_reply("LIST", "SERVER", string("a") + b"the first") +
                 c_reply("LIST", "SERVER", string("")) +
                 c_reply("LIST", "SERVER", string("b")) + c_reply("LIST", "ACK"))
    s["list_bad_length"] = (bytes([2, 0, 0, 0]) + c_greeting() +
                            c_reply("LIST", "SERVER", be32(100) + b"abc"))
    s["abort"] = bytes([3, 0, 0, 0]) + c_greeting() + c_reply("ABORT", "ACK")
    s["abort_close"] = bytes([3, 0, 0, 0]) + c_greeting()
    s["bad_greeting"] = bytes([0, 0, 0, 0]) + be64(NBDMAGIC) + be64(0x00420281861253)
    s["long_reply"] = bytes([0, 0, 0, 0]) + c_greeting() + be64(REP_MAGIC) + be32(7) + be32(3) + be32(1 << 30)
    return s


def config():
    s = {}
    s["example"] = """[server]
listen = 127.0.0.1:10809
listen = [::1]:10810
listen = unix:/run/cnbd/nbd.sock
unix-mode = 0660
user = nbd
backend-dir = /usr/local/lib/cnbd/backends
default-export = disk
handshake-timeout = 30
pidfile = /run/nbd-serverd.pid
control = off

[disk]
backend = file
path = /srv/disk.img
description = the build disk ; a comment
readonly = yes
min-block-size = 512
preferred-block-size = 4096
max-block-size = 32M
max-connections = 1

[scratch]
backend = memory
size = 4G
"""
    s["minimal"] = "[default]\nbackend = memory\n"
    s["twice"] = "[a]\nbackend = memory\nbackend = null\n[a]\n"
    s["bad_blocks"] = "[a]\nbackend = memory\nmin-block-size = 3\nmax-block-size = 1K\n"
    s["no_section"] = "backend = memory\n# comment\n\n[server]\nlisten = *:1\n"
    s["long_section"] = "[" + "x" * 60 + "]\nbackend = null\n"
    s["syntax"] = "[server\nlisten\n=value\n"
    s["exports_dir"] = "[server]\nexports-dir = /nonexistent/cnbd.d\n"
    s["runtime"] = "disk\nbackend=memory\nsize=64M\nreadonly=on\nmax-connections=2\n"
    s["statistics"] = ("[server]\nstatistics = on\nstatistics-file = /var/lib/x/cnbd.prom\n"
                       "statistics-interval = 0\n[a]\nbackend = null\n")
    s["access"] = ("[server]\nallow = 10.0.0.0/8, ::1, unix\ndeny = 10.66.0.0/16\n"
                   "[a]\nbackend = null\nallow = uid:0, user:root, gid:6, group:root\n"
                   "deny = fd00::/8, 10.0.0.1/31\n")
    return {k: v.encode() for k, v in s.items()}


def uri():
    s = ["nbd://localhost", "nbd://127.0.0.1:10810/disk", "nbd://[::1]/a%2Fb",
         "nbd://[fe80::1%25eth0]:1/x", "nbd+unix:///disk?socket=/run/cnbd/nbd.sock",
         "nbd+unix:///?socket=%00abstract", "nbds://host/x", "nbd://user@host/",
         "nbd://host/x#frag", "nbd://host/x?tls-certificates=/x", "nbd://host:99999/",
         "nbd+unix:///x?socket=/a&socket=/b", "nbd+vsock:///x", "nbd://host/%zz",
         "nbd://" + "h" * 300]
    return {"u%02d" % i: v.encode() for i, v in enumerate(s)}


def parse():
    s = ["64K", "1G", "512", "0x10", "1T", "yes", "off", "true", "0",
         "18446744073709551615", "9223372036854775807E", "1.5G", "-1", " 1", "1k"]
    return {"p%02d" % i: v.encode() for i, v in enumerate(s)}


def main():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for target, seeds in (("server_options", server_options()),
                          ("server_requests", server_requests()),
                          ("client_replies", client_replies()),
                          ("config", config()), ("uri", uri()),
                          ("parse", parse())):
        d = os.path.join(top, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (target, len(seeds)), file=sys.stderr)


if __name__ == "__main__":
    main()
