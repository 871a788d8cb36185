"""A sparse Babel network of 25 lab nodes (degree 4): converged, verified, and verified again with links cut.

The lab's default topology grows 18 more datacenter nodes; the network
mixes them with the IPv6-only rack pair (one L2 segment: VXLAN), the two
nodes behind NAT and the exit, and shares nodes with a static network of
three (isolation is probed both ways).
"""

import ipaddress
import json
import os
import random
import re
import time

import pytest
import yaml

import figures  # tests/support
from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard_go import inotify_budget
from labtools import installed_via, link_to, recorded  # tests/support

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXTRA_DC = range(3, 21)
DEGREE = 4
CUTS = 1  # runs of 3 went the same way; each costs a full verify in CI
SEED = 24
SAMPLE = 4
INOTIFY_NEEDED = 2 * 50 + 2 * 3  # both ends of ~50 sparse links and of globex's 3


@pytest.fixture(scope="module")
def sparse_lab(new_lab):
    farm = new_lab("gridnet-sparse")
    with open(os.path.join(ROOT, "playbooks", "lab", "topology.yml")) as handle:
        topology = yaml.safe_load(handle)["gridnet_lab_topology"]
    for i in EXTRA_DC:
        name = "dc%d" % i
        topology["segments"]["dc"]["attach"][name] = 10 + i
        underlay = {"ipv6": "2001:db8:10::%d" % (10 + i), "ipv4": "192.0.2.%d" % (10 + i)}
        topology["hosts"][name] = {"gridnet_tenant_underlay": underlay}
    farm.topology = topology
    members = sorted(["dc1", "dc2", "gw", "rack1", "rack2", "home1", "home2"] + ["dc%d" % i for i in EXTRA_DC])
    # a small second network to probe isolation with: wireguard-go takes an inotify instance a link end
    globex = dict(next(n for n in farm.networks if n["netid"] == "globex"), members=["dc1", "home1", "gw"])
    farm.networks = [
        {"netid": "grid", "members": members, "routing": "babel", "topology": "sparse", "degree": DEGREE,
         "exit": {"node": "gw", "ipv6": "2001:db8:ff::30/64", "ipv4": "203.0.113.30/24"},
         "ipv4_range": "10.80.0.0/16"},
        globex,
    ]
    check_inotify_budget(INOTIFY_NEEDED)
    farm.playbook("lab/up.yml", inventory=False)
    farm.members = members
    return farm


def check_inotify_budget(needed):
    """Fail at once, saying why, when the machine's inotify instances (shared by every process of root, other
    labs included) cannot hold this lab's wireguard-go processes; a node cannot see the others' use."""
    limit, used = inotify_budget()
    if used + needed > limit:
        pytest.fail("this lab needs about %d inotify instances; %d of %d are in use on this machine: raise "
                    "fs.inotify.max_user_instances or run it alone" % (needed, used, limit))


def verified(farm, *extra):
    result = farm.playbook("verify.yml", *extra, check=False)
    found = re.search(r"(\d+) probes, (\d+) as expected", result.stdout)
    assert found, result.stdout[-3000:]
    return int(found.group(1)), int(found.group(2)), result


def by_sample(farm):
    """verify.yml by a sample of SAMPLE members per workload: (probes, as expected, seconds, its output)."""
    started = time.monotonic()
    total, good, result = verified(farm, "-e", "gridnet_tenant_verify_sample=%d" % SAMPLE)
    return total, good, time.monotonic() - started, result


def test_a_sparse_network_of_25_nodes_converges_verifies_and_survives_cut_links(sparse_lab):
    farm = sparse_lab
    started = time.monotonic()
    first = farm.playbook("site.yml")
    converge = time.monotonic() - started
    assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}
    started = time.monotonic()
    total, good, result = verified(farm)
    farm.full_verify = (total, time.monotonic() - started)
    assert good == total, result.stdout[-4000:]
    assert re.search(r"grid -> globex: 0 of \d+ answered", result.stdout)

    hidden = {"home1", "home2"}
    segment = {"rack1", "rack2"}
    peers = {node: {c["peer"] for c in recorded(farm, node, "grid")["connected"]} for node in farm.members}
    for node, mine in peers.items():  # at most the degree, plus the neighbours on its L2 segment
        assert len(mine) <= DEGREE + (len(mine & segment) if node in segment else 0), (node, sorted(mine))
    links = sorted({tuple(sorted((a, b))) for a in peers for b in peers[a]})
    counts = sorted(len(p) for p in peers.values())
    figures.report("sparse network of %d nodes, degree %d: %d links (a full mesh: %d), links per node %d-%d; "
                   "first converge %.0f s; verify: %d of %d probes as expected"
                   % (len(peers), DEGREE, len(links), len(peers) * (len(peers) - 1) // 2, counts[0], counts[-1],
                      converge, good, total))

    for a, b in random.Random(SEED).sample(links, CUTS):
        pair = "%s:%s" % ((b, a) if b in hidden else (a, b))
        farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_cut": [pair]}), inventory=False)
        time.sleep(8)  # two or three missed hellos, and the updates that follow
        total, good, result = verified(farm)
        around = installed_via(farm, a, b, "grid")
        farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_mend": [pair]}), inventory=False)
        assert around not in (None, link_to(farm, a, b, "grid")), "the cut link %s still carries %s -> %s" % (
            pair, a, b)
        figures.report("sparse network, link %s cut (random sample, seed %d): %d of %d probes as expected"
                       % (pair, SEED, good, total))
        assert good == total, result.stdout[-4000:]


def test_verify_by_sample_proves_every_link_and_finds_a_cut_one_and_a_broken_isolation(sparse_lab):
    farm = sparse_lab  # converged by the test before
    total, good, seconds, result = by_sample(farm)
    assert good == total, result.stdout[-4000:]
    coverage = re.search(r"grid: by sample, %d other members per workload \(seed 0\): (\d+) of (\d+) ordered pairs "
                         r"probed \(([\d.]+)%%\), and every one of its (\d+) link ends" % SAMPLE, result.stdout)
    assert coverage, result.stdout[-4000:]
    full_probes, full_seconds = getattr(farm, "full_verify", (None, None))
    figures.report("verify by sample on the sparse network of %d nodes: %d probes in %.0f s (%s of %s pairs, %s%%, "
                   "and all %s link ends over the link); the full matrix: %s probes in %s s"
                   % (len(farm.members), total, seconds, coverage.group(1), coverage.group(2), coverage.group(3),
                      coverage.group(4), full_probes, "%.0f" % full_seconds if full_seconds else "?"))

    # at once, a link cut in the underlay (Babel routes around it, so only its own probes can tell) and isolation
    # broken by hand on dc1 (a local route for all of globex in grid's namespace: dc1's grid workload reaches it)
    pair = "%s:%s" % next(link for link in sorted(_links(farm)) if all(n.startswith("dc") for n in link))
    grid = recorded(farm, "dc1", "grid")
    dc1, leak = farm.pids()["dc1"], [("-4", "10.70.0.0/16"), ("-6", _globex_block(farm))]
    farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_cut": [pair]}), inventory=False)
    try:
        for family, prefix in leak:  # answered by the namespace itself (lo is down there: the veth is up)
            lab.run(dc1, ["ip", "-n", grid["namespace"], family, "route", "add", "local", prefix, "dev",
                          grid["veth_ns"]])
        time.sleep(8)
        total, good, _seconds, broken = by_sample(farm)
    finally:
        farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_mend": [pair]}), inventory=False)
        for family, prefix in leak:
            lab.run(dc1, ["ip", "-n", grid["namespace"], family, "route", "del", "local", prefix, "dev",
                          grid["veth_ns"]], check=False)
    a, b = pair.split(":")
    leaked = re.search(r"grid -> globex: ([1-9]\d*) of \d+ answered  <-- NOT ISOLATED", broken.stdout)
    assert broken.returncode != 0 and leaked, broken.stdout[-4000:]
    for x, y in ((a, b), (b, a)):
        assert "link %s -> %s: its peer's link-local address is silent over it  <-- WRONG" % (x, y) in broken.stdout
    assert total - good == 2 + int(leaked.group(1)), broken.stdout[-4000:]  # each end's own link probe, the leaks


def _links(farm):
    peers = {node: {c["peer"] for c in recorded(farm, node, "grid")["connected"]} for node in farm.members}
    return {tuple(sorted((a, b))) for a in peers for b in peers[a]}


def _globex_block(farm):
    return str(ipaddress.ip_network(recorded(farm, "gw", "globex")["prefix"]).supernet(new_prefix=48))
