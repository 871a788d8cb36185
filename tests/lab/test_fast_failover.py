"""failover: fast (babeld hellos every 0.2 s): a link cut in the underlay while a workload pings another ten times a
second stops carrying traffic in under a second, five cuts of five different links out of five; and what the faster
hellos cost each link, read from WireGuard's own counters on an idle network."""

import json
import time

import pytest

import figures  # tests/support
from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from labtools import installed_via  # tests/support
from test_babel import cut, outage, over_direct_link, pinging

# (source, target): each pair's direct link is the one cut; five different WireGuard links of acme's full mesh
PAIRS = [("dc1", "dc2"), ("dc2", "gw"), ("dc1", "rack1"), ("gw", "rack2"), ("dc2", "rack2")]
IDLE = 10  # seconds of counters read for the control traffic: 50 hellos or more at the fast rate


@pytest.fixture(scope="module")
def fast_lab(new_lab):
    farm = new_lab("gridnet-fast")
    farm.networks = [dict(n, routing="babel", failover="fast") for n in farm.networks if n["netid"] == "acme"]
    farm.playbook("lab/up.yml", inventory=False)
    first = farm.playbook("site.yml")
    assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}
    return farm


def counters(farm, node, namespace, ifname):
    """(packets in, packets out, bytes in, bytes out) of a link: the kernel's count of what crossed the link
    (babeld's packets as sent), and WireGuard's of the UDP it made of them (encrypted, with its headers)."""
    shown = json.loads(lab.run(farm.pids()[node], ["ip", "-n", namespace, "-s", "-j", "link", "show", "dev",
                                                   ifname]).stdout)[0]["stats64"]
    health = next(r for r in farm.module(node, "network_resource_info")["health"] if r["namespace"] == namespace)
    link = next(link for link in health["links"].values() if link["interface"] == ifname)
    return shown["rx"]["packets"], shown["tx"]["packets"], link["rx_bytes"], link["tx_bytes"]


def idle_cost(farm, node, namespace, ifname):
    before = counters(farm, node, namespace, ifname)
    time.sleep(IDLE)
    return [(b - a) / IDLE for a, b in zip(before, counters(farm, node, namespace, ifname))]


def test_a_cut_link_stops_carrying_traffic_in_under_a_second_five_times_out_of_five(fast_lab):
    farm = fast_lab
    outages = []
    for source, target in PAIRS:
        name, address, direct = over_direct_link(farm, source, target)
        ping = pinging(farm, source, name, address, 8)
        time.sleep(3)
        pair = "%s:%s" % (source, target)
        cut(farm, pair)
        time.sleep(3)
        around = installed_via(farm, source, target)
        ping.join()
        cut(farm, pair, undo=True)
        lost = outage(ping.result)
        outages.append(lost)
        assert around not in (None, direct), (pair, around)
    figures.report("failover fast (hello 0.2 s): outages with a link cut while pinging 10/s: %s s (target < 1 s)"
                   % ", ".join("%.1f" % o for o in outages))
    assert all(o < 1 for o in outages), outages


def test_what_fast_hellos_cost_each_link_against_normal_ones(fast_lab):
    farm = fast_lab  # idle: nothing but babeld crosses the links
    resource = next(r for r in farm.module("dc1", "network_resource_info")["resources"])
    ifname = sorted(name for name, link in resource["wireguard"].items() if link["peer"])[0]
    fast = idle_cost(farm, "dc1", resource["namespace"], ifname)
    farm.networks = [dict(n, failover="normal") for n in farm.networks]
    farm.playbook("site.yml")
    time.sleep(10)  # babeld restarted with the slower hellos: past its first burst
    normal = idle_cost(farm, "dc1", resource["namespace"], ifname)
    figures.report("failover fast: one idle link of dc1 carries %.1f packets/s in and %.1f out, %.0f B/s in and %.0f "
                   "out on the underlay (WireGuard's counters, over %d s); with normal failover (hello 1 s): %.1f and "
                   "%.1f packets/s, %.0f and %.0f B/s" % tuple(fast + [IDLE] + normal))
    assert fast[1] > 2 * normal[1] and 0 < fast[3] < 5000
