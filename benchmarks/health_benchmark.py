"""What the node agent's refresh of the health metrics costs on a node with 50 links.

One lab node holds a network resource with routing babel and 50 wireguard-go
links (peers that do not exist: reading a link costs the same whether its
peer answers or not), converged by gridnet.tenant.network_resource, so the
node's records are the module's own. Inside the node, rounds alternate (A B A
B): A refreshes the metrics file 10 times back to back (agent.refresh_metrics,
what the agent runs every metrics_interval), B idles as long. Per refresh it
prints the agent's own CPU, the extra CPU of the 50 wireguard-go processes and
babeld answering (A's minus B's), and the wall time; then the share of one CPU
at the default interval (15 s). Medians of 5 rounds, with the load printed.
Needs root and 52 inotify instances (fs.inotify.max_user_instances). PROFILE=1 prints where a refresh
spends its time (cProfile, inside the node).

    .venv/bin/python benchmarks/health_benchmark.py
"""

import base64
import copy
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

from farm import Farm  # noqa: E402  (tests/support)
from labrun import load  # noqa: E402
from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab  # noqa: E402

LINKS = 50
INTERVAL = 15.0
ROUNDS = 5

INSIDE = r"""
import json, os, statistics, sys, time
sys.path.insert(0, %(collections)r)
from ansible_collections.gridnet.tenant.plugins.module_utils.node import agent
METRICS = "/var/lib/gridnet-tenant/bench-metrics"  # the lab node's own /var/lib

def cpu_of(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%%d/stat" %% pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")

others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()
          and open("/proc/%%s/comm" %% p).read().strip() in ("wireguard-go", "babeld")]
agent.refresh_metrics(METRICS)  # warm: imports, caches
if os.environ.get("PROFILE"):
    import cProfile, pstats
    cProfile.run("for _ in range(10): agent.refresh_metrics(METRICS)", "/var/lib/gridnet-tenant/prof")
    pstats.Stats("/var/lib/gridnet-tenant/prof", stream=sys.stderr).sort_stats("cumulative").print_stats(25)
rounds = []
for _round in range(%(rounds)d):
    own, theirs, started = time.process_time(), cpu_of(others), time.monotonic()
    for _refresh in range(10):
        agent.refresh_metrics(METRICS)
    busy = time.monotonic() - started
    own, theirs = time.process_time() - own, cpu_of(others) - theirs
    idle_start = cpu_of(others)
    time.sleep(busy)
    idle = cpu_of(others) - idle_start
    rounds.append({"own": own / 10, "others": (theirs - idle) / 10, "wall": busy / 10})
print(json.dumps({"rounds": rounds, "others": len(others),
                  "lines": sum(1 for line in open(METRICS + "/gridnet_tenant.prom") if not line.startswith("#"))}))
"""


def main():
    if os.geteuid() != 0:
        sys.exit("needs root")
    farm = Farm()
    try:
        farm.node("nodea", ipv6="2001:db8:1::1")
        farm.node("nodeb", ipv6="2001:db8:1::2")
        farm.exit_node = "nodeb"
        resource = farm.plan(routing="babel")["nodes"]["nodea"]["resources"][0]
        template, resource["connected"] = resource["connected"][0], []
        for index in range(LINKS):
            link = copy.deepcopy(template)
            link.update(interface="gtwbench%05d" % index, listen_port=21000 + index, peer="peer%02d" % index,
                        public_key=base64.b64encode(os.urandom(32)).decode())
            resource["connected"].append(link)
        resource["babel"]["interfaces"] = [{"name": c["interface"], "type": "tunnel"} for c in resource["connected"]]
        result = farm.module("nodea", "network_resource", resource=resource, wireguard_backend="userspace")
        assert not result.get("failed"), result.get("msg")
        before = load()
        out = lab.run(farm.pids["nodea"], ["env", "PROFILE=%s" % os.environ.get("PROFILE", ""), sys.executable, "-c", INSIDE % {
            "collections": os.path.join(ROOT, ".build", "collections"), "rounds": ROUNDS}])
        sys.stderr.write(out.stderr)
        out = out.stdout
        after = load()
    finally:
        farm.stop()
    measured = json.loads(out)
    rounds = measured["rounds"]

    def median(key):
        return sorted(r[key] for r in rounds)[len(rounds) // 2]
    print("health metrics refresh on a node with %d links (wireguard-go, routing babel; %d processes answering), "
          "%d samples in the file; load %s -> %s" % (LINKS, measured["others"], measured["lines"], before, after))
    for i, r in enumerate(rounds):
        print("  round %d: agent %.1f ms CPU, wireguard-go and babeld %+.1f ms CPU, %.1f ms wall per refresh"
              % (i + 1, r["own"] * 1000, r["others"] * 1000, r["wall"] * 1000))
    total = median("own") + max(median("others"), 0)
    print("median per refresh: agent %.1f ms CPU + the daemons %.1f ms = %.1f ms; every %.0f s that is %.2f%% of "
          "one CPU (target < 1%%)" % (median("own") * 1000, median("others") * 1000, total * 1000, INTERVAL,
                                      100 * total / INTERVAL))


if __name__ == "__main__":
    main()
