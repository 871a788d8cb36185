"""The VXLAN part (node/parts/vxlan_link.py): the device a plan gives to members of one L2 segment.

The device itself is made and read in real namespaces by tests/netns (test_segment_change.py); here, the
plan-to-state translation.
"""

import types

from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.vxlan_link import VxlanLink
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm


def desired(resource):
    return VxlanLink(types.SimpleNamespace(resource=resource)).desired()["vxlan"]


def test_a_segment_member_gets_one_device_with_one_fdb_entry_per_segment_peer():
    the_plan = plan(*farm(dc_nodes=1, segment_nodes=3))
    resource = the_plan["nodes"]["rack0"]["resources"][0]
    wanted = desired(resource)
    peers = sorted(c["remote"] for c in resource["connected"] if c["connection"] == "localvxlan")
    assert len(peers) == 2 and wanted["remotes"] == peers and wanted["group"] is None
    device = resource["vxlan"]
    assert (wanted["name"], wanted["vni"], wanted["port"], wanted["local"]) == \
        (device["name"], device["vni"], device["port"], device["local"])
    assert wanted["addresses"] == [resource["link_local"] + "/64"] and wanted["mtu"] == device["mtu"]
    assert wanted["mac"] == resource["macs"]["vxlan"]


def test_a_node_on_no_segment_has_no_device():
    the_plan = plan(*farm(dc_nodes=2, segment_nodes=2))
    assert desired(the_plan["nodes"]["dc0"]["resources"][0]) is None


def test_with_a_multicast_group_the_peers_are_found_through_it():
    networks, hostvars, groups, keys = farm(dc_nodes=1, segment_nodes=3)
    networks[0]["vxlan_group"] = "ff05::4789"
    for node in groups["rack"]:
        hostvars[node]["gridnet_tenant_underlay"]["l2_interface"] = "eth1"
    resource = plan(networks, hostvars, groups, keys)["nodes"]["rack1"]["resources"][0]
    wanted = desired(resource)
    assert wanted["group"] == "ff05::4789" and wanted["remotes"] == []
