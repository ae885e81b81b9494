# SPDX-License-Identifier: MIT
"""CPU time of a server and everything it forks or spawns, in nanoseconds.

Why a cgroup: the servers we compare differ in shape. nbdkit and qemu-nbd
are one process with threads; nbd-serverd and nbd-server fork a worker per
connection, and that worker exits when fio disconnects. Summing
/proc/PID/stat of whatever is alive at the end of a run misses the workers
that already exited, and the parent's cutime/cstime only holds them once
the parent has reaped them (and only if every level reaps its own). A
cgroup charges every task that was ever in it, threads and exited children
included, at the moment the CPU is used, so one subtraction (after minus
before) is exact whatever the server's process model.

The server joins its cgroup in the forked child before exec
(Group.preexec), so not even its first fork escapes the accounting.

Order of preference: a cgroup2 mount (cpu.stat usage_usec exists in every
non-root cgroup2 group, no controller needs enabling), then a cgroup v1
cpuacct mount (cpuacct.usage). If neither can be written, the /proc
fallback sums utime+stime+cutime+cstime over the live process tree; it is
labelled as such in the report because it undercounts workers that have
exited but were not reaped yet.
"""

import os
import time

TICK_NS = 10**9 // os.sysconf("SC_CLK_TCK")


def _mounts(fstype):
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] != fstype:
                continue
            if fstype == "cgroup" and "cpuacct" not in fields[3].split(","):
                continue
            yield fields[1]


class Groups:
    """A parent cgroup for one bench run, holding one child per server."""

    def __init__(self, tag):
        self.method = "proc"
        self.root = None
        self.count = 0
        for fstype, method in (("cgroup2", "cgroup2"), ("cgroup", "cgroup-v1")):
            for mnt in _mounts(fstype):
                path = os.path.join(mnt, tag)
                try:
                    os.mkdir(path)
                except OSError:
                    continue
                self.method, self.root = method, path
                return

    def describe(self):
        return {
            "cgroup2": "cgroup v2 cpu.stat usage_usec of a cgroup per server",
            "cgroup-v1": "cgroup v1 cpuacct.usage of a cgroup per server",
            "proc": "/proc utime+stime+cutime+cstime of the live process "
                    "tree (fallback: no writable cgroup mount)",
        }[self.method]

    def new(self, name):
        # Unique and without spaces: the same row may be started twice.
        self.count += 1
        return Group(self, "%d-%s" % (self.count, name.replace(" ", "-")))

    def remove(self):
        if self.root:
            try:
                os.rmdir(self.root)
            except OSError:
                pass


class Group:
    def __init__(self, groups, name):
        self.method = groups.method
        self.path = None
        self.pid = None          # set by the caller for the /proc fallback
        if groups.root:
            self.path = os.path.join(groups.root, name)
            os.mkdir(self.path)

    def preexec(self):
        """Run in the forked child before exec: join the cgroup."""
        if self.path:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def usage_ns(self):
        if self.method == "cgroup2":
            with open(os.path.join(self.path, "cpu.stat")) as f:
                for line in f:
                    k, v = line.split()
                    if k == "usage_usec":
                        return int(v) * 1000
            raise RuntimeError("no usage_usec in %s/cpu.stat" % self.path)
        if self.method == "cgroup-v1":
            with open(os.path.join(self.path, "cpuacct.usage")) as f:
                return int(f.read())
        return _proc_tree_ns(self.pid)

    def split_ns(self):
        """(user, system) nanoseconds, where the accounting can tell them
        apart (cgroup v2's cpu.stat); None otherwise. The system part is
        the kernel working for the server: system calls and the network
        stack they run."""
        if self.method != "cgroup2":
            return None
        got = {}
        with open(os.path.join(self.path, "cpu.stat")) as f:
            for line in f:
                k, v = line.split()
                got[k] = int(v) * 1000
        return got["user_usec"], got["system_usec"]

    def pids(self):
        """Every process still in the group (for a stop that misses none)."""
        if not self.path:
            return [self.pid] if self.pid else []
        with open(os.path.join(self.path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]

    def remove(self):
        # An exiting task leaves the cgroup a moment after it is gone from
        # cgroup.procs: retry briefly rather than leave the directory.
        for _ in range(100):
            if not self.path:
                return
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    # comm may contain spaces and parentheses: split after the last ')'.
    return s[s.rindex(")") + 2:].split()


def _proc_tree_ns(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(d))[1])
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        # fields after comm: state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
        total += sum(int(x) for x in f[11:15])
        todo.extend(children.get(pid, []))
    return total * TICK_NS
