"""Sparse meshes with Babel: deterministic, connected, 2-connected, bounded, stable under growth."""

import random

import pytest
from hypothesis import given, strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import compact_plan, plan
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.sparse import check_two_connected
from inventory_factory import farm


def sparse_farm(degree=4, **sizes):
    networks, hostvars, groups, keys = farm(**sizes)
    networks[0].update(routing="babel", topology="sparse", degree=degree)
    return networks, hostvars, groups, keys


def graph(p):
    return {node: {c["peer"] for r in state["resources"] for c in r["connected"]} for node, state in p["nodes"].items()}


def connected_without(adjacent, node=None, edge=None):
    """Independent of the planner's check: a search over the graph minus one node or one edge."""
    nodes = [n for n in adjacent if n != node]
    seen, todo = {nodes[0]}, [nodes[0]]
    while todo:
        here = todo.pop()
        for peer in adjacent[here]:
            if peer == node or peer in seen or edge is not None and {here, peer} == set(edge):
                continue
            seen.add(peer)
            todo.append(peer)
    return len(seen) == len(nodes)


def edges(adjacent):
    return sorted({tuple(sorted((a, b))) for a in adjacent for b in adjacent[a]})


@given(st.integers(3, 40), st.integers(0, 6), st.integers(0, 4), st.sampled_from([2, 4, 6]))
def test_sparse_mesh_is_two_connected_and_bounded(dc_nodes, home_nodes, segment_nodes, degree):
    inventory = sparse_farm(degree, dc_nodes=dc_nodes, home_nodes=home_nodes, segment_nodes=segment_nodes)
    p = plan(*inventory)
    adjacent = graph(p)
    hostvars = inventory[1]
    hidden = {n for n, v in hostvars.items() if v["gridnet_tenant_underlay"].get("reachable") is False}
    segment = {n for n, v in hostvars.items() if v["gridnet_tenant_underlay"].get("l2_segment")}
    assert connected_without(adjacent)
    for node in adjacent:
        assert connected_without(adjacent, node=node), "losing %s cuts the network" % node
    for edge in edges(adjacent):
        assert connected_without(adjacent, edge=edge), "losing link %s cuts the network" % (edge,)
    for node, peers in adjacent.items():
        if node in hidden:
            assert not peers & hidden, "%s (behind NAT) links to another node behind NAT" % node
            assert len(peers) <= max(2, degree // 2)
            continue
        neighbours_on_segment = len(peers & segment) if node in segment else 0
        attached = len(peers & hidden)
        assert len(peers) <= degree + neighbours_on_segment + attached, (node, sorted(peers))


@pytest.mark.parametrize("degree", [2, 4, 6])
def test_members_behind_nat_take_the_place_of_a_ring_link_so_nobody_exceeds_the_degree(degree):
    inventory = sparse_farm(degree, dc_nodes=30, home_nodes=6, segment_nodes=3)
    adjacent = graph(plan(*inventory))
    segment = {"rack0", "rack1", "rack2"}
    for node, peers in adjacent.items():
        bound = 2 if node.startswith("home") else degree + (len(peers & segment) if node in segment else 0)
        assert len(peers) <= bound, (node, sorted(peers))
    assert all(connected_without(adjacent, node=node) for node in adjacent)


def test_sparse_plan_is_deterministic_and_has_no_static_routes():
    inventory = sparse_farm(4, dc_nodes=20, home_nodes=3, segment_nodes=3)
    first, second = plan(*inventory), plan(*inventory)
    assert first == second
    for node, state in first["nodes"].items():
        for resource in state["resources"]:
            assert resource["routes"] == []
            assert resource["babel"]["announce"] == [resource["prefix"], resource["ipv4"]]
            assert resource["babel"]["default_metric"] == (128 if node == "gw1" else None)
            for link in resource["connected"]:
                if link["connection"] == "wireguard":
                    assert link["allowed_ips"] == ("::/0", "0.0.0.0/0")
                    assert "relay" not in link
            names = [i["name"] for i in resource["babel"]["interfaces"]]
            assert names == sorted({c["interface"] for c in resource["connected"]})


def test_full_mesh_with_babel_keeps_every_link_but_no_static_route():
    networks, hostvars, groups, keys = farm(dc_nodes=5, home_nodes=2)
    networks[0]["routing"] = "babel"
    p = plan(networks, hostvars, groups, keys)
    adjacent = graph(p)
    assert all(len(adjacent[n]) == len(adjacent) - 1 for n in adjacent)  # the homes link through the relay's UDP
    assert all(r["routes"] == [] for state in p["nodes"].values() for r in state["resources"])


def changed_nodes(before, after):
    return sorted(n for n in before if before[n] != after.get(n))


@pytest.mark.parametrize("degree", [2, 4, 6])
def test_adding_a_node_to_100_changes_the_links_of_at_most_two_degree_nodes(degree):
    networks, hostvars, groups, keys = sparse_farm(degree, dc_nodes=100)
    before = graph(plan(networks, hostvars, groups, keys))
    grown = sparse_farm(degree, dc_nodes=101)
    after = graph(plan(*grown))
    changed = changed_nodes(before, after)
    assert "dc100" in after and len(changed) <= 2 * degree, changed
    print("degree %d: adding dc100 to 101 nodes changed the links of %d existing nodes" % (degree, len(changed)))


def test_adding_a_node_renumbers_nothing():
    networks, hostvars, groups, keys = sparse_farm(4, dc_nodes=30)
    first_plan, handed = compact_plan(networks, hostvars, groups, keys)
    grown = sparse_farm(4, dc_nodes=31)
    second, _unused = compact_plan(*grown, assignments=handed)
    old, new = first_plan["networks"][0], second["networks"][0]
    for node, prefix in old["prefixes"].items():
        assert new["prefixes"][node] == prefix
    for node, ports in old["ports"].items():  # a kept link keeps its ports
        for peer, port in ports.items():
            if peer in new["ports"][node]:
                assert new["ports"][node][peer] == port


def test_sparse_compact_plan_grows_with_links_not_members_squared():
    networks, hostvars, groups, keys = sparse_farm(4, dc_nodes=400, ipv4_range="10.0.0.0/8")
    compact, _unused = compact_plan(networks, hostvars, groups, keys)
    ports = compact["networks"][0]["ports"]
    assert sum(len(p) for p in ports.values()) <= 401 * 4


@pytest.mark.parametrize("change, message", [
    ({"topology": "sparse"}, "topology sparse needs routing babel"),
    ({"routing": "ospf"}, "routing: 'ospf' must be one of static, babel"),
    ({"routing": "babel", "topology": "sparse", "degree": 3}, "degree: 3 is odd"),
    ({"routing": "babel", "topology": "sparse", "degree": 1}, "outside 2-32"),
    ({"routing": "babel", "degree": 4}, "only a sparse topology has a degree"),
    ({"routing": "babel", "topology": "hubs", "hubs": ["dc0"]}, "give two or more"),
    ({"routing": "babel", "topology": "hubs", "hubs": ["dc0", "ghost"]}, "'ghost' is not a member"),
    ({"topology": "hubs", "hubs": ["dc0", "gw1"]}, "topology hubs needs routing babel"),
    ({"routing": "babel", "topology": "sparse", "hubs": ["dc0", "gw1"]}, "hubs go with topology hubs"),
])
def test_bad_routing_input_is_refused_by_name(change, message):
    networks, hostvars, groups, keys = farm(dc_nodes=3)
    networks[0].update(change)
    with pytest.raises(PlanError, match=message):
        plan(networks, hostvars, groups, keys)


def test_a_graph_one_node_can_cut_is_refused():
    star = {"hub": {"a", "b", "c"}, "a": {"hub"}, "b": {"hub"}, "c": {"hub"}}
    with pytest.raises(PlanError, match="losing hub would cut"):
        check_two_connected("net", star)
    ring = {n: {"abcd"[(i + 1) % 4], "abcd"[i - 1]} for i, n in enumerate("abcd")}
    check_two_connected("net", ring)
    two_rings = dict(ring, **{n: {"efg"[(i + 1) % 3], "efg"[i - 1]} for i, n in enumerate("efg")})
    two_rings["a"] = ring["a"] | {"e"}
    two_rings["e"] = two_rings["e"] | {"a"}
    with pytest.raises(PlanError, match="would cut"):
        check_two_connected("net", two_rings)


def test_hidden_nodes_with_one_reachable_peer_are_refused():
    networks, hostvars, groups, keys = sparse_farm(4, dc_nodes=1, home_nodes=3)
    hostvars["dc0"]["gridnet_tenant_underlay"].pop("ipv4")  # the homes speak IPv4 only: the exit alone serves them
    with pytest.raises(PlanError, match="losing gw1 would cut"):
        plan(networks, hostvars, groups, keys)


def test_random_link_cuts_on_a_large_sparse_mesh():
    adjacent = graph(plan(*sparse_farm(4, dc_nodes=200, home_nodes=20)))
    sample = random.Random(16).sample(edges(adjacent), 40)
    assert all(connected_without(adjacent, edge=e) for e in sample)


def hub_farm(hubs=("dc0", "gw1"), **sizes):
    networks, hostvars, groups, keys = farm(**sizes)
    networks[0].update(routing="babel", topology="hubs", hubs=list(hubs))
    return networks, hostvars, groups, keys


def test_hub_and_spoke_links_every_spoke_to_every_hub_and_survives_losing_one():
    inventory = hub_farm(dc_nodes=12, home_nodes=3, segment_nodes=2)
    adjacent = graph(plan(*inventory))
    hubs = {"dc0", "gw1"}
    for node, peers in adjacent.items():
        others = peers - hubs - ({"rack0", "rack1"} if node in ("rack0", "rack1") else set())
        assert node in hubs or not others, (node, sorted(peers))  # a spoke links to hubs and segment neighbours only
        assert node in hubs or hubs <= peers
    for node in adjacent:
        assert connected_without(adjacent, node=node)
    assert plan(*inventory) == plan(*inventory)


def test_hubs_that_spokes_behind_nat_cannot_both_reach_are_refused():
    networks, hostvars, groups, keys = hub_farm(hubs=("rack0", "gw1"), dc_nodes=2, home_nodes=2, segment_nodes=1)
    with pytest.raises(PlanError, match="losing gw1 would cut"):  # the homes speak IPv4, rack0 only IPv6
        plan(networks, hostvars, groups, keys)
