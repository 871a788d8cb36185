"""The WireGuard link part (node/parts/wireguard_link.py): its input check and the desired state a plan gives.

What it reads and changes in the kernel is proven with real links in tests/netns (test_network_resource.py,
test_wireguard.py); here, the plan-to-state translation, which needs no kernel.
"""

import types

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.node import relay
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.wireguard_link import WireGuardLinks
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm

PUBLIC = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # base64 of 32 bytes


def resource_of(node, **sizes):
    the_plan = plan(*farm(**sizes))
    return the_plan["nodes"][node]["resources"][0]


def desired(resource):
    target = types.SimpleNamespace(resource=resource, public_key=PUBLIC)
    return WireGuardLinks(target).desired()["wireguard"]


def test_every_link_carries_the_node_link_local_and_the_peers_key_port_and_mtu():
    resource = resource_of("dc0", dc_nodes=3)
    wanted = desired(resource)
    links = [c for c in resource["connected"] if c["connection"] == "wireguard"]
    assert sorted(wanted) == sorted(c["interface"] for c in links) and wanted
    for link in links:
        state = wanted[link["interface"]]
        assert state["addresses"] == [resource["link_local"] + "/64"] and state["up"]
        assert state["public_key"] == PUBLIC and state["listen_port"] == link["listen_port"]
        assert state["mtu"] == link["mtu"] and state["peer"]["public_key"] == link["public_key"]
        assert state["peer"]["allowed_ips"] == sorted(link["allowed_ips"])


def test_a_link_through_a_relay_keeps_the_relay_keepalive_others_the_resources():
    resource = resource_of("home0", dc_nodes=2, home_nodes=2)
    wanted = desired(resource)
    by_peer = {c["peer"]: c for c in resource["connected"]}
    relayed, direct = by_peer["home1"], by_peer["dc0"]
    assert relayed.get("relay") and not direct.get("relay")
    assert wanted[relayed["interface"]]["peer"]["persistent_keepalive"] == relay.KEEPALIVE
    assert wanted[direct["interface"]]["peer"]["persistent_keepalive"] == resource["persistent_keepalive"] == 25


def test_the_check_names_the_link_with_a_bad_key_or_name():
    resource = resource_of("dc0", dc_nodes=2)
    broken = dict(resource, connected=[dict(resource["connected"][0], public_key="not-a-key")])
    with pytest.raises(InputError, match="link to "):
        WireGuardLinks.check(broken)
    long_name = dict(resource, connected=[dict(resource["connected"][0], interface="x" * 16)])
    with pytest.raises(InputError, match="link to "):
        WireGuardLinks.check(long_name)
    WireGuardLinks.check(resource)
