#!/usr/bin/python3
"""LIST_META_CONTEXT (libnbd in option mode) offers base:allocation, for
an empty query and for the "base:" namespace, and nothing for an unknown
namespace; after GO, base:allocation is usable when it was asked for."""
import nbd
import nbdtest
from nbdtest import check


def listed(h, queries):
    h.clear_meta_contexts()
    for q in queries:
        h.add_meta_context(q)
    names = []
    n = h.opt_list_meta_context(lambda name: names.append(name) or 0)
    check(n == len(names), "count %d for %s" % (n, names))
    return names


def main():
    with nbdtest.Server({"d": {"backend": "memory", "size": "1M"}}) as srv:
        h = nbd.NBD()
        h.set_opt_mode(True)
        h.set_export_name("d")
        h.connect_tcp("127.0.0.1", str(srv.port))
        check("base:allocation" in listed(h, []), "not offered for an empty query")
        check(listed(h, ["base:"]) == ["base:allocation"], "base: namespace")
        check(listed(h, ["base:allocation"]) == ["base:allocation"], "exact query")
        check(listed(h, ["nosuch:thing"]) == [], "unknown namespace offered something")
        h.clear_meta_contexts()
        h.add_meta_context("base:allocation")
        h.opt_go()
        check(h.can_meta_context("base:allocation"), "not negotiated by GO")
        h.shutdown()


nbdtest.main(main)
