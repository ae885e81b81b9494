#!/usr/bin/python3
"""nbdinfo --json shows the block sizes (minimum, preferred, maximum) the
config sets for an export; unset ones are still valid by the spec."""
import json

import nbdtest
from nbdtest import check, run

CONFIGURED = {
    "sized": ((512, 65536, 1 << 20),
              {"min-block-size": "512", "preferred-block-size": "64K",
               "max-block-size": "1M"}),
    "sized4k": ((4096, 4096, 4 << 20),
                {"min-block-size": "4096", "preferred-block-size": "4K",
                 "max-block-size": "4M"}),
}


def power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def main():
    nbdtest.need("nbdinfo")
    exports = {}
    for name, (_, keys) in CONFIGURED.items():
        exports[name] = dict({"backend": "memory", "size": "8M"}, **keys)
    exports["plain"] = {"backend": "memory", "size": "8M"}
    with nbdtest.Server(exports) as srv:
        for name, (want, _) in CONFIGURED.items():
            e = json.loads(run(["nbdinfo", "--json", srv.uri(name)]))["exports"][0]
            have = (e.get("block_size_minimum"), e.get("block_size_preferred"),
                    e.get("block_size_maximum"))
            check(have == want, "%s: block sizes %s, config says %s" %
                  (name, have, want))

        e = json.loads(run(["nbdinfo", "--json", srv.uri("plain")]))["exports"][0]
        mn = e.get("block_size_minimum")
        pref = e.get("block_size_preferred")
        mx = e.get("block_size_maximum")
        if mn is not None:
            check(power_of_two(mn) and mn <= 65536, "minimum %d" % mn)
            check(power_of_two(pref) and pref >= max(mn, 512),
                  "preferred %d" % pref)
            check(mx >= pref, "maximum %d below preferred %d" % (mx, pref))


nbdtest.main(main)
