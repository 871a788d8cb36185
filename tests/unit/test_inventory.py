"""Planner stage inventory.py: the networks read once from the inventory, bad input refused by name."""

import pytest

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.inventory import read_inventory
from inventory_factory import farm


def test_members_given_as_groups_are_resolved_to_hosts_and_the_exit_is_a_member():
    networks, hostvars, groups, keys = farm(dc_nodes=2, home_nodes=1)
    inventory = read_inventory(networks, hostvars, groups, keys)
    (net,) = inventory.networks
    assert sorted(net.members) == ["dc0", "dc1", "gw1", "home0"] and net.exit_node == "gw1"
    assert net.routing == "static" and net.topology == "full"
    assert set(inventory.underlays) >= set(net.members) and "gw1" in inventory.gateways


@pytest.mark.parametrize("change, named", [
    (lambda n: n.update(netid=None), "netid"),
    (lambda n: n.update(colour="blue"), "colour"),
    (lambda n: n.update(members=["nobody"]), "nobody"),
    (lambda n: n["exit"].update(node="dc0"), "dc0"),
    (lambda n: n.update(ipv4_range="8.8.0.0/16"), "ipv4_range"),
    (lambda n: n.update(routing="ospf"), "routing"),
    (lambda n: n.update(keepalive=-1), "keepalive"),
    (lambda n: n.update(keepalive=True), "keepalive"),
    (lambda n: n.update(ipv6_allow=[{"node": "dc0", "proto": "icmp", "port": 1}]), "proto"),
])
def test_a_wrong_network_is_refused_naming_what_is_wrong(change, named):
    networks, hostvars, groups, keys = farm(dc_nodes=2)
    change(networks[0])
    with pytest.raises(PlanError, match=named):
        read_inventory(networks, hostvars, groups, keys)


def test_a_duplicate_netid_is_refused():
    networks, hostvars, groups, keys = farm(dc_nodes=2)
    with pytest.raises(PlanError, match="net1"):
        read_inventory(networks + networks, hostvars, groups, keys)
