"""Planner stage render.py: each member's network resource, as the node module takes it."""

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm


def test_every_link_is_seen_from_both_ends_with_the_same_mtu_and_each_others_link_local():
    the_plan = plan(*farm(dc_nodes=3, home_nodes=2, segment_nodes=2))
    resources = {node: state["resources"][0] for node, state in the_plan["nodes"].items()}
    for node, resource in resources.items():
        for link in resource["connected"]:
            back = next(c for c in resources[link["peer"]]["connected"] if c["peer"] == node)
            assert link["connection"] == back["connection"] and link["mtu"] == back["mtu"]
            assert link["peer_link_local"] == resources[link["peer"]]["link_local"]
            assert back["peer_link_local"] == resource["link_local"]
            if link["connection"] == "wireguard":
                assert link["public_key"] == the_plan["assignments"]["networks"]["net1"]["resources"][
                    link["peer"]]["public_key"]
                assert link["endpoint"] is not None or back["endpoint"] is not None  # someone dials


def test_a_hidden_node_is_never_given_as_an_endpoint():
    the_plan = plan(*farm(dc_nodes=2, home_nodes=2))
    for node, state in the_plan["nodes"].items():
        for link in state["resources"][0]["connected"]:
            if link["peer"].startswith("home") and link.get("endpoint"):
                assert link.get("relay"), (node, link)  # only a relay's port stands in for it


def test_a_workload_never_sends_a_packet_some_link_of_its_network_cannot_carry():
    networks, hostvars, groups, keys = farm(dc_nodes=3, segment_nodes=2)
    hostvars["dc1"]["gridnet_tenant_underlay"]["mtu"] = 1400  # one small underlay shrinks one link
    the_plan = plan(networks, hostvars, groups, keys)
    mtus = [c["mtu"] for s in the_plan["nodes"].values() for c in s["resources"][0]["connected"]]
    assert min(mtus) == 1400 - 80 and max(mtus) > min(mtus)
    assert {s["resources"][0]["mtu"] for s in the_plan["nodes"].values()} == {min(mtus)}


def test_a_network_keepalive_reaches_every_link_and_behind_nat_is_never_rarer_than_25_s():
    for asked, reachable, hidden in ((0, 0, 25), (10, 10, 10), (60, 60, 25)):
        networks, hostvars, groups, keys = farm(dc_nodes=2, home_nodes=1)
        if asked:
            networks[0]["keepalive"] = asked
        the_plan = plan(networks, hostvars, groups, keys)
        kept = {node: state["resources"][0]["persistent_keepalive"] for node, state in the_plan["nodes"].items()}
        assert {n: k for n, k in kept.items() if not n.startswith("home")} == dict.fromkeys(
            [n for n in kept if not n.startswith("home")], reachable)
        assert kept["home0"] == hidden
