# SPDX-License-Identifier: MIT
"""A unit file's sandboxing settings as unit-sandbox options
(tests/lib/unit_sandbox.c), so that a test can run a daemon under what
its unit imposes without a systemd to start it:

    args = unit_settings.sandbox_args(path_of_the_unit)
    subprocess.Popen([UNIT_SANDBOX] + args + ["--", daemon, ...])

CapabilityBoundingSet=, NoNewPrivileges=, SystemCallFilter=~ (groups
expanded with systemd-analyze syscall-filter), RestrictAddressFamilies=,
MemoryDenyWriteExecute= and UMask= are taken; the rest (mount namespaces,
ProtectSystem=...) are not.
"""

import os
import subprocess

import nbdtest

UNIT_SANDBOX = os.path.join(nbdtest.BUILD, "tests", "unit-sandbox")


def settings(path):
    """{key: [values...]} of the unit's [Service] section."""
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def expand(group, seen=None):
    """The system calls of a systemd syscall group, nested groups included."""
    seen = seen if seen is not None else set()
    if group in seen:
        return set()
    seen.add(group)
    text = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True,
                          text=True, check=True).stdout
    calls = set()
    for line in text.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        calls |= expand(word, seen) if word.startswith("@") else {word}
    return calls


def sandbox_args(path):
    s = settings(path)
    args = []
    if "CapabilityBoundingSet" in s:
        args += ["--keep-caps", ",".join(" ".join(s["CapabilityBoundingSet"]).split())]
    if s.get("NoNewPrivileges", ["no"])[-1] == "yes":
        args.append("--no-new-privs")
    for f in s.get("SystemCallFilter", []):
        if not f.startswith("~"):
            raise ValueError("an allow list: %s" % f)
        for word in f[1:].split():
            for call in sorted(expand(word) if word.startswith("@") else {word}):
                args += ["--deny", call]
    if "RestrictAddressFamilies" in s:
        args += ["--families", ",".join(" ".join(s["RestrictAddressFamilies"]).split())]
    if s.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        args.append("--mdwe")
    if "UMask" in s:
        args += ["--umask", s["UMask"][-1]]
    return args
