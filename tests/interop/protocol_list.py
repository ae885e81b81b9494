#!/usr/bin/python3
"""LIST answers one REP_SERVER per export (name, then description) and an
ACK, and the negotiation goes on afterwards (LIST twice, then GO)."""
import rawnbd
import nbdtest
from nbdtest import check

EXPORTS = {
    "one": {"backend": "memory", "size": "1M", "description": "the first"},
    "two": {"backend": "null", "size": "1M", "description": "zweite Platte"},
    "three": {"backend": "memory", "size": "1M"},
}


def main():
    with nbdtest.Server(EXPORTS) as srv:
        c = rawnbd.connect_tcp(srv.port)
        c.handshake()
        for _ in range(2):
            got = dict(c.opt_list())
            check(sorted(got) == sorted(EXPORTS), "listed %s" % sorted(got))
            for name, p in EXPORTS.items():
                check(got[name] == p.get("description", ""),
                      "%s: description %r" % (name, got[name]))
        replies = c.opt_go("two")
        check(replies[-1].type == rawnbd.REP_ACK, "GO after LIST: %#x" % replies[-1].type)
        c.disconnect()


nbdtest.main(main)
