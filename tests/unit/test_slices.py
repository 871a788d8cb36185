"""The compact plan a run keeps, and each host's slice of it."""

import json

import pytest
from hypothesis import given, strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import slices
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import compact_plan, plan
from inventory_factory import farm
from test_mesh import two_networks


def test_a_slice_from_the_plan_after_a_trip_through_json_is_the_hosts_part_of_the_full_plan():
    """What Ansible keeps between tasks is the JSON shape: tuples come back as lists."""
    inventory = two_networks()
    full = plan(*inventory)
    kept = json.loads(json.dumps(compact_plan(*inventory)[0]))
    slicer = slices.Slicer(kept)
    for node in full["nodes"]:
        assert json.loads(json.dumps(slicer.resources(node))) == json.loads(json.dumps(full["nodes"][node]["resources"]))
    gw1 = slicer.node("gw1")
    assert [e["netid"] for e in gw1["exits"]] == ["net1", "net3"] and gw1["upstream_routes"] == []
    assert slicer.node("dc0", upstream=True)["upstream_routes"] == full["upstream_routes"]


def test_the_compact_plan_grows_with_links_at_two_bytes_each_not_with_link_entries():
    sizes = {}
    for n in (100, 200):
        the_plan, _assigned = compact_plan(*farm(dc_nodes=n - 1, ipv4_range="10.0.0.0/8"))
        ports = sum(len(text) for text in the_plan["networks"][0]["ports"].values())
        sizes[n] = (len(json.dumps(the_plan)) - ports, ports)
    # everything but the port table is linear in N; the table is 4 hex digits per ordered pair
    assert sizes[200][0] < 2.2 * sizes[100][0]
    assert sizes[200][1] == 4 * 200 * 200
    # against the materialised mesh: one entry of ~10 keys per ordered pair
    assert len(json.dumps(plan(*farm(dc_nodes=199, ipv4_range="10.0.0.0/8"))["nodes"])) > 20 * sum(sizes[200])


@given(st.lists(st.integers(min_value=0, max_value=65535), min_size=1, max_size=30))
def test_the_port_table_reads_back_what_was_packed(ports):
    members = ["m%d" % i for i in range(len(ports))]
    table = {m: {"net": {p: port for p, port in zip(members, ports) if p != m and port}} for m in members}

    class Net(object):
        netid = "net"
        topology = "full"
    Net.members = members
    packed = slices.pack_ports(Net, table)
    for i, node in enumerate(members):
        reading = slices.PortTable(packed, members, node, i)
        assert list(reading.own()) == [0 if p == node else port for p, port in zip(members, ports)]
        assert reading.towards() == [0 if p == node else ports[i] for p in members]


def test_a_node_in_two_networks_with_a_clashing_name_fails_at_plan_time_not_in_its_slice():
    networks, hostvars, groups, keys = two_networks()
    keys["dc0"]["net2"] = keys["dc0"]["net1"]  # one key for two links: the same link name twice on dc1
    with pytest.raises(PlanError, match="needed twice"):
        compact_plan(networks, hostvars, groups, keys)


def test_something_else_than_a_compact_plan_is_refused():
    with pytest.raises(ValueError, match="not a compact plan"):
        slices.Slicer({"nodes": {}})


def test_a_network_keepalive_travels_in_the_compact_plan_and_only_when_set():
    inventory = farm(dc_nodes=2)
    assert "keepalive" not in compact_plan(*inventory)[0]["networks"][0]  # plans made before it stay the same
    inventory[0][0]["keepalive"] = 10
    kept = json.loads(json.dumps(compact_plan(*inventory)[0]))
    assert kept["networks"][0]["keepalive"] == 10
    full = plan(*inventory)
    for node in full["nodes"]:
        assert json.loads(json.dumps(slices.Slicer(kept).resources(node))) == json.loads(json.dumps(
            full["nodes"][node]["resources"]))
        assert full["nodes"][node]["resources"][0]["persistent_keepalive"] == 10
