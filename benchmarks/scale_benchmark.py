"""How a sparse Babel network of the lab grows: converge, no-op, verify, memory, and the fit of each.

For each size N (default 16 32 64; give others as arguments), a lab of its own:
the default topology's nodes plus datacenter nodes, N members of one sparse
Babel network (degree 4) with the exit. Timed on it, with the same inventory:
the first converge, a no-op re-converge, three ansible.builtin.ping tasks (what
any three tasks cost on these hosts), and verify (by sample above 32 members,
the full matrix up to 32: its probes and coverage printed). Memory: the
controller's peak RSS (ansible-playbook and its workers, from wait4), and the
machine's MemAvailable drop per node from before the lab to after the converge
(a shared machine: a rough figure). Then, per figure, the exponent k of the
least-squares fit t = a * N^k.

wireguard-go takes one inotify instance per link end (about 4 N here), out of
fs.inotify.max_user_instances, which every process of root on the machine
shares. A size that does not fit is skipped, saying so, unless
GRIDNET_BENCH_INOTIFY=LIMIT gives consent: then the limit is raised to LIMIT
for the benchmark's run, it prints that it did, and the old value is put back
at its end whatever happens. Needs root.

    .venv/bin/python benchmarks/scale_benchmark.py [N ...]
"""

import math
import os
import re
import shutil
import sys
import tempfile

import yaml

from labrun import ROOT, lab_env, load, measured, playbook

sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard_go import inotify_budget  # noqa: E402

DEGREE = 4
BASE = ["dc1", "dc2", "gw", "rack1", "rack2", "home1", "home2"]
INOTIFY = "/proc/sys/fs/inotify/max_user_instances"
PINGS = [{"name": "Three ping tasks", "hosts": "all", "gather_facts": False,
          "tasks": [{"name": n, "ansible.builtin.ping": {}} for n in ("one", "two", "three")]}]


def lab_vars(size):
    """The lab's topology and the one network of `size` members, as extra vars."""
    with open(os.path.join(ROOT, "playbooks", "lab", "topology.yml")) as handle:
        topology = yaml.safe_load(handle)["gridnet_lab_topology"]
    extra = ["dc%d" % i for i in range(3, 3 + size - len(BASE))]
    for name in extra:
        i = int(name[2:])
        topology["segments"]["dc"]["attach"][name] = 10 + i
        topology["hosts"][name] = {"gridnet_tenant_underlay": {"ipv6": "2001:db8:10::%d" % (10 + i),
                                                               "ipv4": "192.0.2.%d" % (10 + i)}}
    network = {"netid": "grid", "members": sorted(BASE + extra), "routing": "babel", "topology": "sparse",
               "degree": DEGREE, "exit": {"node": "gw", "ipv6": "2001:db8:ff::30/64", "ipv4": "203.0.113.30/24"},
               "ipv4_range": "10.80.0.0/16"}
    return {"gridnet_lab_topology": topology, "gridnet_tenant_networks": [network],
            "gridnet_lab_networks": [network]}


def available_mib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def one_size(size, scratch):
    name = "gridnet-scale-%d-%d" % (size, os.getpid())
    directory = tempfile.mkdtemp(prefix=name + "-")
    env = lab_env(name, directory)
    given = os.path.join(scratch, "size-%d.yml" % size)
    with open(given, "w") as handle:
        yaml.safe_dump(lab_vars(size), handle)
    pings = os.path.join(scratch, "pings.yml")
    with open(pings, "w") as handle:
        yaml.safe_dump(PINGS, handle)
    inventory = os.path.join(directory, "inventory")
    site, verify = os.path.join(ROOT, "playbooks", "site.yml"), os.path.join(ROOT, "playbooks", "verify.yml")
    before = available_mib()
    try:
        playbook(env, os.path.join(ROOT, "playbooks", "lab", "up.yml"), "-e", "@" + given)
        first, _changed, _out, first_rss = measured(env, "-i", inventory, site, "-e", "@" + given)
        after = available_mib()
        again, changed, _out, again_rss = measured(env, "-i", inventory, site, "-e", "@" + given)
        ping, _changed, _out, _rss = measured(env, "-i", inventory, pings)
        checked, _changed, out, verify_rss = measured(env, "-i", inventory, verify, "-e", "@" + given)
    finally:
        playbook(env, os.path.join(ROOT, "playbooks", "lab", "down.yml"), "-e", "@" + given)
        shutil.rmtree(directory, ignore_errors=True)
    probes = re.search(r"(\d+) probes, (\d+) as expected", out)
    coverage = re.search(r"by sample, .*?\(([\d.]+)%\)", out)
    return {"N": size, "first": first, "again": again, "pings": ping, "verify": checked,
            "probes": int(probes.group(1)), "expected": int(probes.group(2)),
            "coverage": float(coverage.group(1)) if coverage else 100.0, "changed_again": changed,
            "controller_mib": max(first_rss, again_rss, verify_rss), "node_mib": (before - after) / size}


def fit(rows, key):
    """k of t = a * N^k, least squares on the logs."""
    xs = [math.log(r["N"]) for r in rows]
    ys = [math.log(max(r[key], 1e-9)) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread if spread else float("nan")


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [16, 32, 64]
    consent = os.environ.get("GRIDNET_BENCH_INOTIFY")
    original = int(open(INOTIFY).read())
    scratch = tempfile.mkdtemp(prefix="gridnet-scale-")
    rows = []
    print("load average: %s" % load())
    try:
        if consent and int(consent) > original:
            print("GRIDNET_BENCH_INOTIFY=%s: fs.inotify.max_user_instances raised from %d to %s for this run"
                  % (consent, original, consent))
            open(INOTIFY, "w").write(consent)
        for size in sizes:
            limit, used = inotify_budget()
            needed = DEGREE * size + 8
            if used + needed > limit:
                print("N=%d skipped: it needs about %d inotify instances, %d of %d are in use on this machine "
                      "(GRIDNET_BENCH_INOTIFY=LIMIT raises the limit for the run, with your consent)"
                      % (size, needed, used, limit))
                continue
            rows.append(one_size(size, scratch))
            print("N=%(N)d done: first %(first).1f s, no-op %(again).1f s, verify %(verify).1f s" % rows[-1])
    finally:
        if int(open(INOTIFY).read()) != original:
            open(INOTIFY, "w").write(str(original))
            print("fs.inotify.max_user_instances restored to %d" % original)
        shutil.rmtree(scratch, ignore_errors=True)
    print("sparse Babel network, degree %d, in the lab (load average now %s):" % (DEGREE, load()))
    print("   N  first(s)  no-op(s)  3 pings(s)  no-op/pings  verify(s)  probes  coverage  ctl MiB  MiB/node")
    for r in rows:
        print("%4d  %8.1f  %8.1f  %10.1f  %11.2f  %9.1f  %6d  %7.1f%%  %7.0f  %8.1f%s"
              % (r["N"], r["first"], r["again"], r["pings"], r["again"] / r["pings"], r["verify"], r["probes"],
                 r["coverage"], r["controller_mib"], r["node_mib"],
                 "" if r["expected"] == r["probes"] and not r["changed_again"] else
                 "  (%d probes not as expected, no-op changed %d)" % (r["probes"] - r["expected"],
                                                                      r["changed_again"])))
    if len(rows) >= 2:
        figures = ("first", "again", "verify", "probes", "controller_mib")
        print("fit t = a N^k: " + ", ".join("%s k=%.2f" % (k, fit(rows, k)) for k in figures))
    else:
        print("fit: needs two sizes at least")


if __name__ == "__main__":
    main()
