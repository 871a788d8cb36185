"""Planning benchmark: prints its figures.

1. Time to plan one tenant network of 1,000 nodes (a full mesh: 499,500 links,
   999,000 link entries), the whole plan for every node. Target: under 2 s.
   Next to it, sparse networks (routing babel, degree 4) of 1,000 and 5,000 nodes,
   whose cost grows with N*degree (docs/routing.md).
2. Carving 10,000 /64s out of a /48 with gridnet.tenant.carve (hash-preferred
   slots, validation, collision probing) against 10,000 calls of ansible.utils'
   ipsubnet filter (what a playbook looping over an index pays). Target: >= 50x.

Run with `make bench` (sets up the virtualenv and the collection path).
"""

import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))

from ansible_collections.ansible.utils.plugins.filter.ipsubnet import FilterModule as UtilsFilters  # noqa: E402
from ansible_collections.gridnet.tenant.plugins.filter.carving import carve  # noqa: E402
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan  # noqa: E402
from inventory_factory import farm  # noqa: E402


def best_of(runs, function):
    """Best and median wall time; freeing the result is not counted."""
    times = []
    for _unused in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        del result
    return min(times), statistics.median(times)


def main():
    inventory = farm(dc_nodes=999, ipv4_range="10.0.0.0/8")
    result = plan(*inventory)
    entries = sum(len(r["connected"]) for s in result["nodes"].values() for r in s["resources"])
    del result
    best, median = best_of(3, lambda: plan(*inventory))
    print("plan, 1,000-node network: %d nodes, %d link entries" % (len(inventory[1]), entries))
    print("  time to plan: best %.2f s, median %.2f s of 3 (target < 2 s)" % (best, median))
    for size in (1000, 5000):
        sparse = farm(dc_nodes=size - 1, ipv4_range="10.0.0.0/8")
        sparse[0][0].update(routing="babel", topology="sparse", degree=4)
        result = plan(*sparse)
        entries = sum(len(r["connected"]) for s in result["nodes"].values() for r in s["resources"])
        del result
        best, median = best_of(3, lambda: plan(*sparse))
        print("plan, %s-node sparse network (degree 4): %d link entries; best %.2f s, median %.2f s of 3"
              % (format(size, ","), entries, best, median))

    keys = ["node%05d" % i for i in range(10000)]
    ours, _unused = best_of(3, lambda: carve("2001:db8:100::/48", 64, keys))
    ipsubnet = UtilsFilters().filters()["ipsubnet"]
    theirs, _unused = best_of(1, lambda: [ipsubnet(None, "2001:db8:100::/48", "64", i) for i in range(10000)])
    print("carving 10,000 /64s from a /48")
    print("  gridnet.tenant.carve:   %.3f s" % ours)
    print("  ansible.utils.ipsubnet: %.3f s" % theirs)
    print("  ratio: %.0fx (target >= 50x)" % (theirs / ours))


if __name__ == "__main__":
    main()
