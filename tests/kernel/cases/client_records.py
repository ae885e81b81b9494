#!/usr/bin/python3
# Checksummed records for the reconnect cases (not a case itself: only
# cases/*.sh are run).
#
#   client_records.py write FILE PROGRESS STOP
#       Appends 4 KiB records to FILE, fsync after each, until the file
#       STOP exists. After each fsync the record's sequence number goes to
#       PROGRESS (on tmpfs), so the case knows what must survive. Any
#       error ends it with status 1. At the end prints the count and the
#       slowest fsync (the stall a reconnect cost).
#   client_records.py verify FILE MIN
#       Every record up to MIN (the last one fsync'd) is there, in order,
#       with its checksum right; a record written but not yet fsync'd may
#       follow. Prints the count.
#
# A record: sequence number (8 bytes, big-endian), payload, SHA-256 of the
# two (32 bytes); 4096 bytes in all.
import hashlib
import os
import struct
import sys
import time

RECORD = 4096
PAYLOAD = RECORD - 8 - 32


def record(seq):
    head = struct.pack(">Q", seq)
    payload = hashlib.shake_256(head).digest(PAYLOAD)
    return head + payload + hashlib.sha256(head + payload).digest()


def write(path, progress, stop):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    seq, slowest, slowest_at = 0, 0.0, 0
    while not os.path.exists(stop):
        data = record(seq)
        if os.write(fd, data) != len(data):
            sys.exit("short write of record %d" % seq)
        t0 = time.monotonic()
        os.fsync(fd)
        took = time.monotonic() - t0
        if took > slowest:
            slowest, slowest_at = took, seq
        with open(progress + ".new", "w") as f:
            f.write("%d\n" % seq)
        os.rename(progress + ".new", progress)
        seq += 1
    os.close(fd)
    print("wrote %d records; slowest fsync %.2f s (record %d)" % (seq, slowest, slowest_at))


def verify(path, minimum):
    with open(path, "rb") as f:
        data = f.read()
    count = len(data) // RECORD
    for seq in range(count):
        got = data[seq * RECORD:(seq + 1) * RECORD]
        head, payload, digest = got[:8], got[8:8 + PAYLOAD], got[8 + PAYLOAD:]
        if struct.unpack(">Q", head)[0] != seq or \
                hashlib.sha256(head + payload).digest() != digest or got != record(seq):
            if seq > minimum:
                count = seq     # written, never fsync'd: may be torn
                break
            sys.exit("record %d is wrong" % seq)
    if count <= minimum:
        sys.exit("only %d records, but %d were fsync'd" % (count, minimum + 1))
    print("%d records verified (%d fsync'd)" % (count, minimum + 1))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: client_records.py write FILE PROGRESS STOP | verify FILE MIN")


if __name__ == "__main__":
    main()
