"""Exit failover with Babel: the preferred exit dies, workloads reach the internet through the second exit.

The default lab gains a second uplink (its own segment to the upstream router)
for dc2, which becomes acme's second exit. The upstream router routes acme's
block through both exits, the preferred one at the lower metric; when gw dies
its uplink loses its carrier and the router stops using that route (as a real
router stops using a dead next hop). gw is killed with the lab's kill, and
booted again: traffic goes back through it.
"""

import json
import os
import re
import threading
import time

import pytest
import yaml

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import figures  # tests/support
from labtools import attach, babel_view, first_answer, recorded  # tests/support

INTERVAL = 0.1
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def failover_lab(new_lab):
    farm = new_lab("gridnet-failover")
    with open(os.path.join(ROOT, "playbooks", "lab", "topology.yml")) as handle:
        topology = yaml.safe_load(handle)["gridnet_lab_topology"]
    topology["segments"]["uplink2"] = {"router": "upstream", "ipv6": "2001:db8:fd::/64", "ipv4": "192.0.2.64/26",
                                       "attach": {"dc2": None}}
    topology["hosts"]["dc2"]["gridnet_tenant_exit"] = {
        "allocation": "2001:db8:200::/40", "network_prefixlen": 48,
        "uplink": {"parent": "uplink2", "ipv6_gateway": "2001:db8:fd::1", "ipv4_gateway": "192.0.2.65", "metric": 100}}
    farm.topology = topology
    acme = dict(next(n for n in farm.networks if n["netid"] == "acme"), routing="babel")
    acme["exits"] = [acme.pop("exit"), {"node": "dc2", "ipv6": "2001:db8:fd::10/64", "ipv4": "192.0.2.74/26"}]
    farm.networks = [acme]
    farm.playbook("lab/up.yml", inventory=False)
    return farm


def test_workloads_reach_the_internet_through_the_second_exit_when_the_first_dies(failover_lab):
    farm = failover_lab
    first = farm.playbook("site.yml")
    assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}
    verified = farm.playbook("verify.yml")
    found = re.search(r"(\d+) probes, (\d+) as expected", verified.stdout)
    assert found and found.group(1) == found.group(2), verified.stdout[-3000:]

    name, _unused = attach(farm, "dc1")
    internet = {"ipv6": "2001:db8:fe::10", "ipv4": "198.51.100.10"}
    for address in internet.values():
        first_answer(farm, "dc1", name, address)
    results = {}

    def ping(family, address):
        results[family] = lab.run(farm.pids()["dc1"], ["ip", "netns", "exec", name, "ping", "-n", "-i",
                                                       str(INTERVAL), "-w", "20", address], check=False).stdout
    threads = [threading.Thread(target=ping, args=item) for item in internet.items()]
    for thread in threads:
        thread.start()
    time.sleep(3)
    # the preferred exit dies: every process, namespace and link of it
    farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_kill": ["gw"]}), inventory=False)
    for thread in threads:
        thread.join()
    for family, text in sorted(results.items()):
        seqs = sorted(int(s) for s in re.findall(r"icmp_seq=(\d+)", text))
        assert seqs and seqs[-1] > 150, "%s pings did not resume: %s" % (family, text[-500:])
        lost = max(b - a - 1 for a, b in zip(seqs, seqs[1:])) * INTERVAL
        figures.report("exit failover: gw (the preferred exit) killed; dc1's %s pings to the internet host resumed "
                       "through dc2 after %.1f s" % (family, lost))
        assert lost < 10

    # gw boots again (its agent restores its resources and its exit): traffic goes back through it
    farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_reboot": ["gw"]}), inventory=False)
    booted = time.monotonic()
    gw_link = next(c["interface"] for c in recorded(farm, "dc1")["connected"] if c["peer"] == "gw")
    while default_via(farm, "dc1") != gw_link:
        assert time.monotonic() - booted < 180, "dc1 did not go back to gw for the internet within 180 s"
        time.sleep(1)
    back = time.monotonic() - booted
    for address in internet.values():
        first_answer(farm, "dc1", name, address, deadline=90)
    figures.report("exit failover: gw booted again; dc1's default route went back to it %.0f s later" % back)


def default_via(farm, node):
    """The link node's acme babeld installed its IPv6 default route over, or None."""
    routes = babel_view(farm, node)["babel"]["routes"]
    return next((r["if"] for r in routes if r["prefix"] == "::/0" and r["installed"] == "yes"), None)
