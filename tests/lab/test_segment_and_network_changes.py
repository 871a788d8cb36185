"""On the lab, through the site playbook: a node's L2 segment changes both ways, then a whole network goes.

Each change: one run converges, a second changes nothing, the matrix is green; after the network
is removed no key file, namespace or process of it is left on any node.
"""

import os

import yaml

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import net_tag


def converge_and_verify(farm):
    first = farm.playbook("site.yml")
    assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}, "second converge must change nothing"
    verified = farm.playbook("verify.yml")
    assert "as expected" in verified.stdout and "wrong" not in verified.stdout
    return first


def rack_links(farm):
    """rack1's links in acme, by kind: what the segment decides."""
    (resource,) = [r for r in farm.module("rack1", "network_resource_info")["resources"]
                   if r["namespace"] == "gt-" + net_tag("acme")]
    return {"vxlan": resource["vxlan"] is not None, "wireguard": len(resource["wireguard"])}


def test_segment_changes_both_ways_then_a_network_removed(new_lab):
    farm = new_lab("gridnet-changes")
    farm.playbook("lab/up.yml", inventory=False)
    converge_and_verify(farm)
    assert rack_links(farm)["vxlan"]

    # rack2 moves to another L2 segment: rack1 and rack2 link over WireGuard now
    host_vars = os.path.join(farm.inventory, "host_vars")
    os.makedirs(host_vars, exist_ok=True)
    with open(os.path.join(host_vars, "rack2.yml"), "w") as handle:
        yaml.safe_dump({"gridnet_tenant_underlay": {"ipv6": "2001:db8:20::11", "l2_segment": "rack-b"}}, handle)
    converge_and_verify(farm)
    assert not rack_links(farm)["vxlan"]
    # and back: VXLAN again
    os.unlink(os.path.join(host_vars, "rack2.yml"))
    converge_and_verify(farm)
    assert rack_links(farm)["vxlan"]

    # globex goes: nothing of it stays anywhere
    members = sorted({m for n in farm.networks for m in n["members"]})
    namespace = "gt-" + net_tag("globex")
    links = {node: [name for r in farm.module(node, "network_resource_info")["resources"]
                    if r["namespace"] == namespace for name in r["wireguard"]] for node in members}
    assert sum(len(names) for names in links.values()) > 0
    farm.networks = [n for n in farm.networks if n["netid"] != "globex"]
    converge_and_verify(farm)
    for node, pid in farm.pids().items():
        assert namespace not in lab.run(pid, ["ip", "netns", "list"]).stdout, node
        keys = lab.run(pid, ["find", "/var/lib/gridnet-tenant/keys", "-name", "globex.key"], check=False).stdout
        assert keys == "", (node, keys)
        processes = lab.run(pid, ["pgrep", "-a", "wireguard-go"], check=False).stdout
        assert not any(name in processes for name in links.get(node, [])), (node, processes)
