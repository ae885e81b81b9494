#!/usr/bin/python3
"""cow reads merge base and overlay exactly: nbdsh writes, zeroes and
trims at block edges and odd offsets (block sizes 4 KiB and 64 KiB, a
base whose size is no multiple of either, with holes), and every read,
around each change and of the whole disk, matches a model of base plus
changes. Per-connection and persistent overlays alike; the persistent
one reads the same from a fresh connection afterwards; FAST_ZERO is
refused exactly where part of a block would have to be written. The base
file's checksum never changes."""
import os
import subprocess
import tempfile

import nbdtest
import cowtest
from nbdtest import check

SIZE = cowtest.MiB + 12345

# Run by nbdsh (h is its handle); the model is the base plus what the
# script does, with cow's rule for TRIM: whole blocks read as zeros,
# parts of blocks stay.
SCRIPT = r'''
import os, random, errno
base = open(os.environ["COW_BASE"], "rb").read()
bs = int(os.environ["COW_BS"])
size = len(base)
rng = random.Random(int(os.environ["COW_SEED"]))
model = bytearray(base)
assert h.get_size() == size

def check_range(off, n, what):
    off = max(0, off)
    n = min(n, size - off)
    got = h.pread(n, off)
    if got != bytes(model[off:off + n]):
        bad = next(i for i in range(n) if got[i] != model[off + i])
        raise AssertionError("%s: byte %d differs (got %d, want %d)"
                             % (what, off + bad, got[bad], model[off + bad]))

def spot():
    k = rng.randrange(size // bs + 1)
    off = min(max(0, k * bs + rng.randint(-3, 3)), size - 1)
    n = rng.choice([1, 2, 3, bs - 1, bs, bs + 1, 2 * bs + 3, rng.randrange(1, 3 * bs)])
    return off, min(n, size - off)

def whole_blocks(off, n):
    first = -(-off // bs) * bs
    last = (off + n) // bs * bs if off + n < size else size
    return first, last

# The first and last bytes, the odd tail block, then random spots.
fixed = [(0, 1), (bs - 1, 2), (size - 1, 1), (size - (size % bs) - 1, 3),
         (size - 7, 7), (3 * bs + 1, bs)]
for i in range(int(os.environ["COW_OPS"])):
    off, n = fixed[i] if i < len(fixed) else spot()
    op = "write" if i < len(fixed) else rng.choice(["write"] * 6 + ["zero", "trim", "fast"])
    if op == "write":
        data = rng.randbytes(n)
        h.pwrite(data, off)
        model[off:off + n] = data
    elif op == "zero":
        h.zero(n, off)
        model[off:off + n] = bytes(n)
    elif op == "trim":
        h.trim(n, off)
        a, b = whole_blocks(off, n)
        if a < b:
            model[a:b] = bytes(b - a)
    else:
        a, b = whole_blocks(off, n)
        whole = a == off and b == off + n
        try:
            h.zero(n, off, nbd.CMD_FLAG_FAST_ZERO)
        except nbd.Error as e:
            assert not whole and e.errno in ("ENOTSUP", "EOPNOTSUPP", errno.ENOTSUP), (off, n, e)
        else:
            assert whole, "FAST_ZERO of %d+%d needed part of a block written" % (off, n)
            model[off:off + n] = bytes(n)
    check_range(off - bs, n + 2 * bs, "%s %d+%d" % (op, off, n))
for _ in range(60):
    off, n = spot()
    check_range(off, n, "read %d+%d" % (off, n))
check_range(0, size, "the whole disk")
h.flush()
open(os.environ["COW_MODEL"], "wb").write(model)
print("ok: %s ops, block size %d" % (os.environ["COW_OPS"], bs))
'''

READ_BACK = r'''
import os
model = open(os.environ["COW_MODEL"], "rb").read()
got = b"".join(h.pread(min(1 << 20, len(model) - o), o) for o in range(0, len(model), 1 << 20))
assert got == model, "a fresh connection reads something else"
'''


def nbdsh(uri, script, env):
    p = subprocess.run(["nbdsh", "-u", uri, "-c", script], env=dict(os.environ, **env),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = p.stdout.decode(errors="replace")
    check(p.returncode == 0, "nbdsh on %s failed:\n%s" % (uri, out))
    print(out.strip())


def main():
    nbdtest.need("nbdsh")
    with tempfile.TemporaryDirectory(prefix="cnbd-cow.") as d:
        os.chmod(d, 0o755)
        base = os.path.join(d, "base.img")
        cowtest.make_base(base, SIZE, 15)
        before = cowtest.sha256(base)
        exports = {
            "pc4k": cowtest.export(base, block_size="4K"),
            "pc64k": cowtest.export(base),
            "pers4k": cowtest.export(base, os.path.join(d, "p4.cow"), block_size="4K"),
            "pers64k": cowtest.export(base, os.path.join(d, "p64.cow")),
        }
        env = {"COW_BASE": base, "COW_OPS": "300", "COW_MODEL": os.path.join(d, "model")}
        with nbdtest.Server(exports) as srv:
            for seed, name in enumerate(exports):
                bs = 4096 if name.endswith("4k") and not name.endswith("64k") else 65536
                env.update(COW_SEED=str(seed), COW_BS=str(bs))
                nbdsh(srv.uri(name), SCRIPT, env)
                if name.startswith("pers"):
                    nbdsh(srv.unix_uri(name), READ_BACK, env)
            srv.check_alive()
        check(cowtest.sha256(base) == before, "the base file changed")


nbdtest.main(main)
