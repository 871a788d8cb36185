"""Planner stage allocation.py: blocks, /64s and /24s, VXLAN ids and listen ports, never renumbered."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import compact_plan
from inventory_factory import fake_public_key, farm


def plan_of(inventory, assignments=None):
    return compact_plan(*inventory, assignments=assignments)[1]


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 12), st.integers(0, 3))
def test_listen_ports_are_unique_per_node_inside_its_range_and_kept_when_nodes_are_added(dc, home):
    inventory = farm(dc_nodes=dc, home_nodes=home)
    first = plan_of(inventory)
    for node, networks in first["ports"].items():
        used = [port for peers in networks.values() for port in peers.values()]
        assert len(used) == len(set(used)) and all(51820 <= p <= 59999 for p in used), node
    bigger = farm(dc_nodes=dc + 2, home_nodes=home)
    again = plan_of(bigger, first)
    for node, networks in first["ports"].items():
        for netid, peers in networks.items():
            for peer, port in peers.items():
                assert again["ports"][node][netid][peer] == port  # nothing renumbered
    for node, resource in first["networks"]["net1"]["resources"].items():
        assert again["networks"]["net1"]["resources"][node]["prefix"] == resource["prefix"]


def test_overlapping_allocations_of_two_gateways_are_refused_naming_both():
    networks, hostvars, groups, keys = farm(dc_nodes=2)
    hostvars["gw2"] = {"gridnet_tenant_underlay": {"ipv6": "2001:db8:1::2"},
                       "gridnet_tenant_exit": dict(hostvars["gw1"]["gridnet_tenant_exit"],
                                                   allocation="2001:db8:100::/44")}
    networks.append(dict(networks[0], netid="net2", exit={"node": "gw2", "ipv6": "2001:db8:ff::20/64"}))
    keys = {n: {netid: fake_public_key(n, netid) for netid in ("net1", "net2")} for n in hostvars}
    with pytest.raises(PlanError, match="allocations overlap: .*gw1.*gw2|allocations overlap: .*gw2.*gw1"):
        compact_plan(networks, hostvars, groups, keys)
