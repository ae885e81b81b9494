#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A description has at most the protocol's 4096 bytes (NBD_MAX_STRING):
nbdctl server add with 4097 is refused with a clear error (it once
overflowed a stack buffer in the INFO reply), one of exactly 4096 is added
and served whole: nbdinfo --json, a raw INFO asking for the description,
LIST and nbdctl server list all show the 4096 bytes. The control socket
answers root only: run as root (CI does)."""

import json
import os
import tempfile

import nbdtest
import rawnbd
from nbdtest import check

NBDCTL = os.path.join(nbdtest.BUILD, "nbdctl")


def main():
    nbdtest.need("nbdinfo")
    check(os.getuid() == 0, "must run as root: the control socket answers root only")
    at_limit = "".join(chr(ord("a") + i % 26) for i in range(4096))
    over = at_limit + "z"
    with tempfile.TemporaryDirectory(prefix="cnbd-ctl.") as d:
        control = os.path.join(d, "control.sock")
        with nbdtest.Server({"disk": {"backend": "memory", "size": "1M"}},
                            server={"control": control}) as srv:
            run_checks(srv, control, at_limit, over)


def run_checks(srv, control, at_limit, over):
    def ctl(*args, check_rc=True):
        return nbdtest.run([NBDCTL, "server", "--socket", control] + list(args),
                           check_rc=check_rc)

    rc, out, err = ctl("add", "big", "backend=memory", "size=1M",
                       "description=" + over, check_rc=False)
    check(rc != 0, "nbdctl server add took a description of 4097 bytes")
    check("description: 4097 bytes, more than the protocol's 4096" in err,
          "nbdctl's error does not say why: %r" % err)
    srv.check_alive()

    ctl("add", "big", "backend=memory", "size=1M", "description=" + at_limit)
    info = json.loads(nbdtest.run(["nbdinfo", "--json", srv.uri("big")]))
    desc = info["exports"][0].get("description")
    check(desc == at_limit, "nbdinfo --json: description of %s bytes, want 4096"
          % (len(desc) if desc is not None else None))

    c = rawnbd.connect_tcp(srv.port)
    c.handshake()
    replies = c.opt_info("big", [rawnbd.INFO_DESCRIPTION])
    check(replies[-1].type == rawnbd.REP_ACK, "INFO big: %#x" % replies[-1].type)
    got = rawnbd.parse_info(replies).get(rawnbd.INFO_DESCRIPTION)
    check(got == at_limit, "raw INFO: description of %s bytes, want 4096"
          % (len(got) if got is not None else None))
    listed = dict(c.opt_list())
    check(listed.get("big") == at_limit, "LIST: description of %d bytes"
          % len(listed.get("big", "")))
    c.send_option(rawnbd.OPT_ABORT)
    c.close()

    out = ctl("list")
    check(at_limit in out, "nbdctl server list does not show the 4096 bytes")
    srv.check_alive()


if __name__ == "__main__":
    nbdtest.main(main)
