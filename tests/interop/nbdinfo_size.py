#!/usr/bin/python3
"""nbdinfo --json reports each export's size: the configured size for
memory and null exports, the file's size for a file export."""
import json
import os

import nbdtest
from nbdtest import check, run

FILE_SIZE = 10 * 1024 * 1024 + 4096


def main():
    nbdtest.need("nbdinfo")
    exports = {
        "mem": {"backend": "memory", "size": "64M"},
        "mem-k": {"backend": "memory", "size": "1536K"},
        "nul": {"backend": "null", "size": "1G"},
        "big": {"backend": "null", "size": "4T"},
        "disk": {"backend": "file", "path": None},
    }
    want = {"mem": 64 << 20, "mem-k": 1536 << 10, "nul": 1 << 30,
            "big": 4 << 40, "disk": FILE_SIZE}
    import tempfile
    with tempfile.TemporaryDirectory(prefix="cnbd-size.") as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "disk.img")
        with open(path, "wb") as f:
            f.truncate(FILE_SIZE)
        exports["disk"]["path"] = path
        with nbdtest.Server(exports) as srv:
            for name, size in want.items():
                doc = json.loads(run(["nbdinfo", "--json", srv.uri(name)]))
                e = doc["exports"][0]
                check(e["export-size"] == size,
                      "%s: size %d, want %d" % (name, e["export-size"], size))
            # The Unix socket serves the same exports.
            doc = json.loads(run(["nbdinfo", "--json", srv.unix_uri("disk")]))
            check(doc["exports"][0]["export-size"] == FILE_SIZE,
                  "disk over unix: size %d" % doc["exports"][0]["export-size"])


nbdtest.main(main)
