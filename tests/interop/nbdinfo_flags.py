#!/usr/bin/python3
"""nbdinfo --json reports the capabilities each backend has: file and
memory flush, FUA, trim, zero (also fast), cache and multi-conn (the
design: fdatasync, hole punching, FALLOC_FL_ZERO_RANGE; a sparse shared
memfd); a readonly = true export is read-only; others are writable."""
import json
import os
import tempfile

import nbdtest
from nbdtest import check, run

ALL = ("can_flush", "can_fua", "can_trim", "can_zero", "can_cache",
       "can_multi_conn")


def main():
    nbdtest.need("nbdinfo")
    with tempfile.TemporaryDirectory(prefix="cnbd-flags.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.truncate(8 << 20)
        os.chmod(path, 0o666)
        exports = {
            "mem": {"backend": "memory", "size": "8M"},
            "file": {"backend": "file", "path": path},
            "nul": {"backend": "null", "size": "8M"},
            "mem-ro": {"backend": "memory", "size": "8M", "readonly": True},
            "file-ro": {"backend": "file", "path": path, "readonly": True},
            "mem-rw": {"backend": "memory", "size": "8M", "readonly": False},
        }
        want = {
            "mem": dict({k: True for k in ALL}, is_read_only=False,
                        can_fast_zero=True),
            "file": dict({k: True for k in ALL}, is_read_only=False,
                         can_fast_zero=True),
            "nul": {"is_read_only": False},
            "mem-ro": {"is_read_only": True},
            "file-ro": {"is_read_only": True},
            "mem-rw": {"is_read_only": False},
        }
        with nbdtest.Server(exports) as srv:
            for name, flags in want.items():
                e = json.loads(run(["nbdinfo", "--json", srv.uri(name)]))["exports"][0]
                for k, v in flags.items():
                    check(e.get(k) == v, "%s: %s is %r, want %r" %
                          (name, k, e.get(k), v))
                # Memory never spins.
                if name.startswith("mem"):
                    check(e.get("is_rotational") is False,
                          "%s: is_rotational %r" % (name, e.get("is_rotational")))


nbdtest.main(main)
