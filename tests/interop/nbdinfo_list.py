#!/usr/bin/python3
"""nbdinfo --list (text and --json) shows every export in the config,
each with its description, and no others."""
import json

import nbdtest
from nbdtest import check, run

EXPORTS = {
    "alpha": {"backend": "memory", "size": "1M",
              "description": "first disk, in memory"},
    "beta": {"backend": "null", "size": "1G",
             "description": "nothing to see here"},
    "gamma-3": {"backend": "memory", "size": "2M"},
}


def main():
    nbdtest.need("nbdinfo")
    with nbdtest.Server(EXPORTS) as srv:
        for uri in (srv.uri(""), srv.unix_uri("")):
            doc = json.loads(run(["nbdinfo", "--list", "--json", uri]))
            got = {e["export-name"]: e for e in doc["exports"]}
            check(sorted(got) == sorted(EXPORTS),
                  "listed %s, config has %s" % (sorted(got), sorted(EXPORTS)))
            for name, params in EXPORTS.items():
                want = params.get("description")
                have = got[name].get("description")
                # An export without a description may be listed with
                # none or an empty one.
                check(have == want or (want is None and have == ""),
                      "%s: description %r, config says %r" % (name, have, want))
            check(doc.get("protocol") == "newstyle-fixed",
                  "protocol %r" % doc.get("protocol"))

        text = run(["nbdinfo", "--list", srv.uri("")])
        for name, params in EXPORTS.items():
            check("export=\"%s\"" % name in text or
                  "export=%s" % name in text or name in text,
                  "%s missing from nbdinfo --list:\n%s" % (name, text))
            if "description" in params:
                check(params["description"] in text,
                      "description of %s missing:\n%s" % (name, text))


nbdtest.main(main)
