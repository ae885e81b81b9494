# SPDX-License-Identifier: MIT
"""make bench's TLS part: fio --ioengine=nbd over nbds:// against
nbd-serverd (tls = require) and nbdkit (--tls=require --tls-certificates),
memory backends both, beside the same two servers in plaintext, in one
run with the trials interleaved; the server's CPU per request side by
side. The X.509 material is the tests' own (tests/lib/tls_keys.sh, made
with certtool for this run).

fio and nbds://: fio's nbd engine hands its URI to libnbd's
nbd_connect_uri, and libnbd (1.14) refuses tls-certificates=DIR in a URI
unless the program has called nbd_set_uri_allow_local_file, which fio
does not ("local file access (tls-certificates) is not allowed, call
nbd_set_uri_allow_local_file to enable this"). Without the parameter
libnbd looks in its default directory: /etc/pki/libnbd for root,
$HOME/.pki/libnbd for anyone else. So fio runs as nobody (setpriv, when
we are root) with HOME in the run's work directory, whose .pki/libnbd
holds the test CA: still fio, still libnbd's TLS, comparable with the
plaintext rows. nbdinfo and nbdcopy (size check, prefill) take the
directory in the URI.

Kernel TLS in nbd-serverd's workers (tls-kernel): where this kernel has
the tls ULP, cnbd runs twice, tls-kernel = off and auto, an A/B in the
same run; where it has not (the CI host's kernel has no tls module), it
runs with GnuTLS only and the report says why. make bench-kernel
measures that A/B in the VM either way.
"""

import errno
import os
import shutil
import socket
import subprocess

import data
import servers

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS_SH = os.path.join(HERE, "..", "lib", "tls_keys.sh")
WORKLOADS = ["rr4k", "rw4k", "sr1m"]
SIZE = 256 << 20
TCP_ULP = 31


class Keys:
    """Test CA, server certificate and key (pki), the client's side
    (client), and the fio user's HOME with .pki/libnbd."""

    def __init__(self, work):
        self.dir = os.path.join(work, "tls")
        self.pki = os.path.join(self.dir, "pki")
        self.client = os.path.join(self.dir, "client")
        self.home = os.path.join(work, "tls-home")
        script = ('need() { for t; do command -v "$t" >/dev/null || { echo "$t missing" >&2; exit 1; }; done; }; '
                  'fail() { echo "$*" >&2; exit 1; }; . "$1"; make_tls_keys "$2"')
        subprocess.run(["bash", "-c", script, "tls_keys", KEYS_SH, self.dir], check=True)
        libnbd = os.path.join(self.home, ".pki", "libnbd")
        os.makedirs(libnbd)
        # The CA only: the servers check no client certificate, and a
        # client key nobody could read would stop libnbd.
        shutil.copy(os.path.join(self.client, "ca-cert.pem"), libnbd)
        for d in (work, self.home, os.path.dirname(libnbd), libnbd):
            os.chmod(d, 0o755)
        os.chmod(os.path.join(libnbd, "ca-cert.pem"), 0o644)


def kernel_tls():
    """None where this kernel takes TCP_ULP "tls", else why not: the ULP
    answers an unconnected socket with ENOTCONN once it is known."""
    s = socket.socket()
    try:
        s.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"tls")
    except OSError as e:
        if e.errno == errno.ENOTCONN:
            return None
        if e.errno == errno.ENOENT:
            return "this kernel (%s) has no tls module" % os.uname().release
        return "TCP_ULP \"tls\": %s" % os.strerror(e.errno)
    finally:
        s.close()
    return None


def start_all(build, groups, work, size, datafile, keys, keep, log):
    no_ktls = kernel_tls()
    makers = [
        ("cnbd memory", lambda n: servers.cnbd(build, "memory", groups, work, size, name=n)),
        ("nbdkit memory", lambda n: servers.nbdkit("memory", groups, work, size, name=n)),
        ("cnbd memory TLS (GnuTLS)",
         lambda n: servers.cnbd(build, "memory", groups, work, size, tls=keys,
                                tls_kernel="off", name=n)),
        ("nbdkit memory TLS", lambda n: servers.nbdkit("memory", groups, work, size,
                                                       name=n, tls=keys)),
    ]
    if not no_ktls:
        makers.append(("cnbd memory TLS (kernel)",
                       lambda n: servers.cnbd(build, "memory", groups, work, size, tls=keys,
                                              tls_kernel="auto", name=n)))
    running = []
    try:
        for name, make in makers:
            if keep and not any(k in name for k in keep):
                continue
            log("starting %s (TLS part)" % name)
            s = make(name)
            log("prefilling %s from %s" % (name, datafile))
            data.prefill(s.uri(), datafile)
            running.append(s)
    except Exception:
        for s in running:
            s.stop()
        raise
    return running, no_ktls


def carried(running):
    """What each cnbd TLS row's workers did, from their log lines
    ("serving export 'bench' (..., kernel TLS)" or "..., TLS)")."""
    out = {}
    for s in running:
        if not s.tls or not s.name.startswith("cnbd"):
            continue
        with open(s.log, errors="replace") as f:
            lines = [l for l in f if "serving export 'bench'" in l]
        kernel = sum(", kernel TLS)" in l for l in lines)
        out[s.name] = "%d of %d connections with kernel TLS" % (kernel, len(lines))
    return out
