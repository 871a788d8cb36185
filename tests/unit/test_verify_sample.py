"""verify.yml by sample (verify/sampling.py): bounded probes per node, every link proven by itself, deterministic."""

import pytest

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify import sampling, verify

from inventory_factory import farm


def two_networks(dc_nodes, topology="full"):
    networks, hostvars, groups, keys = farm(dc_nodes=dc_nodes)
    if topology != "full":
        networks[0].update(routing="babel", topology=topology, degree=4)
    small = dict(networks[0], netid="small", members=["dc0", "dc1", "gw1"], ipv4_range="10.41.0.0/16",
                 exit=dict(networks[0]["exit"], ipv6="2001:db8:ff::11/64", ipv4="203.0.113.11/24"))
    small.pop("degree", None), small.pop("topology", None), small.pop("routing", None)
    for node in keys:
        keys[node]["small"] = keys[node]["net1"][:-4] + "sma="
    return plan(networks + [small], hostvars, groups, keys)


def probe_ids(probes):
    return [p["id"] for node in probes.values() for p in node["probes"]]


def test_auto_keeps_the_full_matrix_for_a_small_network_and_samples_a_large_one():
    the_plan = two_networks(40, topology="sparse")
    full = probe_ids(verify.probes(the_plan, {}, "full"))
    auto = probe_ids(verify.probes(the_plan, {}, "auto"))
    assert not any(i.endswith("link6") for i in full)
    sampled = [i for i in auto if i.startswith("net1|")]
    assert len(sampled) < len([i for i in full if i.startswith("net1|")]) / 2  # 41 members; the gap grows with N
    assert sorted(i for i in auto if i.startswith("small|") and "isolation" not in i) == \
        sorted(i for i in full if i.startswith("small|") and "isolation" not in i)  # 3 members: full matrix


@pytest.mark.parametrize("sample", [2, 8])
def test_by_sample_every_link_end_its_exits_and_a_bounded_number_of_others_are_probed(sample):
    the_plan = two_networks(40, topology="sparse")
    probes = verify.probes(the_plan, {}, sample, seed=7)
    for node, state in the_plan["nodes"].items():
        resource = next(r for r in state["resources"] if r["netid"] == "net1")
        ids = [p["id"] for p in probes[node]["probes"] if p["id"].startswith("net1|")]
        linked = {c["peer"] for c in resource["connected"]}
        assert {i.split("|")[2] for i in ids if i.endswith("link6")} == linked
        link = next(p for p in probes[node]["probes"] if p["id"].endswith("link6"))
        assert link["workload"] == resource["namespace"] and "%" in link["address"]
        targets = {i.split("|")[2] for i in ids if "|peer" in i}
        fixed = (linked if len(linked) <= 2 * sample else set()) | ({"gw1"} - {node})
        assert fixed <= targets
        assert len(targets - fixed) == min(sample, 40 - len(fixed | {node}))
        assert len([i for i in ids if "isolation" in i]) <= 2 * sample  # IPv6 and IPv4 of each sampled workload


def test_the_same_seed_picks_the_same_members_and_another_seed_others():
    the_plan = two_networks(40)
    first, again = (probe_ids(verify.probes(the_plan, {}, 4, seed=1)) for _unused in range(2))
    other = probe_ids(verify.probes(the_plan, {}, 4, seed=2))
    assert first == again and set(first) != set(other)


@pytest.mark.parametrize("topology", ["sparse", "full"])
def test_workload_probes_per_node_are_bounded_whatever_the_network(topology):
    sizes = {}
    for n in (40, 80):
        probes = verify.probes(two_networks(n, topology=topology), {}, 8, seed=0)
        sizes[n] = max(len([p for p in node["probes"] if not p["id"].endswith("link6")]) for node in probes.values())
    assert sizes[80] == sizes[40] <= 4 * (2 * 8 + 8 + 1) + 2 * 8 * 2  # peer/mtu x v6/v4, isolation v6/v4


def test_a_silent_link_end_fails_the_matrix_and_is_named_and_the_coverage_is_said():
    the_plan = two_networks(40, topology="sparse")
    planned = [p for node in verify.probes(the_plan, {}, 4, 3).values() for p in node["probes"]]
    results = {"all": [{"id": p["id"], "expect": p["expect"], "ok": p["expect"]} for p in planned]}
    judged = verify.matrix(the_plan, results, {}, False, 4, 3)
    assert judged["ok"]
    coverage = next(line for line in judged["lines"] if line.startswith("  net1: by sample"))
    assert "seed 3" in coverage and "ordered pairs probed" in coverage
    cut = next(p["id"] for p in planned if p["id"].endswith("link6"))
    broken = {"all": [dict(r, ok=False) if r["id"] == cut else r for r in results["all"]]}
    judged = verify.matrix(the_plan, broken, {}, False, 4, 3)
    source, target = cut.split("|")[1:3]
    assert not judged["ok"] and cut in judged["wrong"]
    assert "    link %s -> %s: its peer's link-local address is silent over it  <-- WRONG" % (source, target) \
        in judged["lines"]


@pytest.mark.parametrize("sample", ["most", 0, -3])
def test_a_bad_sample_is_refused(sample):
    with pytest.raises(PlanError, match="sample"):
        sampling.per_network(sample, 40)
