"""Builds synthetic farm inventories for the planning tests and benchmarks."""

import base64
import hashlib


def fake_public_key(node, netid):
    """A well-formed WireGuard public key (base64 of 32 bytes) unique to node and network."""
    return base64.b64encode(hashlib.sha256(("%s/%s" % (node, netid)).encode()).digest()).decode()


def farm(dc_nodes=4, home_nodes=0, segment_nodes=0, exit_node="gw1", netid="net1",
         ipv4_range="10.40.0.0/16", allocation="2001:db8:100::/40"):
    """An inventory: dual-stack datacenter nodes, IPv4-only nodes behind NAT,
    nodes sharing one L2 segment, and one exit gateway.

    Returns (networks, hostvars, groups, public_keys).
    """
    hostvars = {}
    groups = {"dc": [], "home": [], "rack": []}
    for i in range(dc_nodes):
        name = "dc%d" % i
        hostvars[name] = {"gridnet_tenant_underlay": {
            "ipv6": "2001:db8:1::%x" % (i + 10), "ipv4": "198.51.100.%d" % (i % 200 + 10)}}
        groups["dc"].append(name)
    for i in range(home_nodes):
        name = "home%d" % i
        hostvars[name] = {"gridnet_tenant_underlay": {"ipv4": "192.168.%d.10" % (i % 250), "reachable": False}}
        groups["home"].append(name)
    for i in range(segment_nodes):
        name = "rack%d" % i
        hostvars[name] = {"gridnet_tenant_underlay": {
            "ipv6": "2001:db8:2::%x" % (i + 10), "l2_segment": "rack1", "mtu": 9000}}
        groups["rack"].append(name)
    hostvars[exit_node] = {
        "gridnet_tenant_underlay": {"ipv6": "2001:db8:1::1", "ipv4": "198.51.100.1"},
        "gridnet_tenant_exit": {
            "allocation": allocation,
            "network_prefixlen": 48,
            "uplink": {"parent": "eth1", "ipv4_gateway": "203.0.113.1", "ipv6_gateway": "2001:db8:ff::1"},
        },
    }
    networks = [{
        "netid": netid,
        "members": [g for g in ("dc", "home", "rack") if groups[g]] + [exit_node],
        "exit": {"node": exit_node, "ipv6": "2001:db8:ff::10/64", "ipv4": "203.0.113.10/24"},
        "ipv4_range": ipv4_range,
    }]
    nodes = sorted(hostvars)
    public_keys = {n: {netid: fake_public_key(n, netid)} for n in nodes}
    return networks, hostvars, groups, public_keys
