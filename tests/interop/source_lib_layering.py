#!/usr/bin/python3
"""lib/ is split by part, and a part may include only the parts below it
(lib/lib.mk draws the picture, docs/internals.md explains it). Every
"part/header.h" include in lib/, server/ and client/ is checked against
that table, so a new include that turns an arrow around fails here rather
than in a reviewer's head."""
import glob
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

# What each part (and each program folder) may include from lib/.
ALLOWED = {
    "lib/common": {"common"},
    "lib/proto": {"common", "proto"},
    "lib/backend": {"common", "backend"},
    "lib/engine": {"common", "proto", "engine"},
    "lib/embed": {"common", "proto", "backend", "engine", "embed"},
    "lib/clientlib": {"common", "proto", "clientlib"},
    "lib/clientapi": {"common", "proto", "clientlib", "clientapi"},
    "lib/attach": {"common", "proto", "clientlib", "attach"},
    "server": {"common", "proto", "backend", "engine"},
    "client": {"common", "proto", "clientlib", "attach"},
}
PARTS = {"common", "proto", "backend", "engine", "embed", "clientlib", "clientapi", "attach"}
INCLUDE = re.compile(r'^#include "([a-z_]+)/', re.M)


def main():
    os.chdir(SRC)
    found = set(os.path.dirname(p) for p in glob.glob("lib/*/*.c"))
    unknown = found - set(ALLOWED)
    if unknown:
        print(f"lib parts missing from this test's table: {sorted(unknown)}")
        return 1
    bad = []
    checked = 0
    for folder, allowed in ALLOWED.items():
        for path in sorted(glob.glob(f"{folder}/*.[ch]")):
            for part in INCLUDE.findall(open(path).read()):
                if part not in PARTS:
                    continue	# cnbd/ (public) or a folder of its own
                checked += 1
                if part not in allowed:
                    bad.append(f"{path} includes {part}/ ({folder} may use {sorted(allowed)})")
    for line in bad:
        print(line)
    if checked < 100:
        print(f"only {checked} part includes seen: the pattern no longer matches the tree")
        return 1
    print(f"{checked} includes checked, {len(bad)} against the direction")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
