# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Allocation: every number the plan hands out, kept once handed out.

Blocks per network from its exit's allocation, a /64 (and a /24) per member
from its network's block, a VXLAN id per network, a listen port per WireGuard
link end. Each honours the assignments of earlier runs (the ledger) and
reuses released values only once nothing else is free (carving.py).
"""

from __future__ import annotations


from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.access import ACCESS_MEMBER, port_key
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import carve, pick_number
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError, netaddr
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import VNI_MAX, digest_int


def carve_blocks(nets, gateways, existing_networks, released_blocks=()):
    """One block per network from its exit's allocation."""
    pools = {}
    for gateway in sorted(gateways.values()):
        key = str(gateway.allocation)
        if key in pools and pools[key][0].network_prefixlen != gateway.network_prefixlen:
            raise PlanError(
                "hosts %s and %s share allocation %s with different network_prefixlen"
                % (pools[key][0].node, gateway.node, key)
            )
        pools.setdefault(key, (gateway, []))
    for key_a in pools:
        for key_b in pools:
            a, b = pools[key_a][0].allocation, pools[key_b][0].allocation
            if key_a < key_b and (a in b or b in a):
                raise PlanError(
                    "allocations overlap: %s (host %s) and %s (host %s)"
                    % (a, pools[key_a][0].node, b, pools[key_b][0].node)
                )
    for net in nets:
        pools[str(gateways[net.exit_node].allocation)][1].append(net.netid)
    blocks = {}
    for gateway, netids in pools.values():
        held = {}
        for netid, record in existing_networks.items():
            block = record.get("block")
            if block and (netid in netids or _inside(block, gateway.allocation)):
                held[netid] = block
        released = [b for b in released_blocks if _inside(b, gateway.allocation)]
        blocks.update(carve(gateway.allocation, gateway.network_prefixlen, netids, held, released,
                            what="allocation of %s" % gateway.node, salt="block"))
    return blocks


def _inside(prefix, pool):
    try:
        return netaddr.IPNetwork(prefix) in pool
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return False  # malformed: carve() reports it for the network that holds it


def carve_resources(net, block, existing_networks, released):
    """({member: /64}, {member: /24} or None) of one network, held ones kept; with access peers, the network's
    access /64 and /24 too, under access.ACCESS_MEMBER."""
    held = (existing_networks.get(net.netid) or {}).get("resources") or {}
    names = net.members + ((ACCESS_MEMBER,) if net.access else ())
    prefixes = carve(
        block, 64, names,
        {n: r["prefix"] for n, r in held.items() if r.get("prefix")},
        (released.get("prefixes") or {}).get(net.netid) or (),
        what="network %r: block" % net.netid, salt="resource")
    if net.ipv4_range is None:
        return prefixes, None
    subnets = carve(
        net.ipv4_range, 24, names,
        {n: r["ipv4"] for n, r in held.items() if r.get("ipv4")},
        (released.get("ipv4") or {}).get(net.netid) or (),
        what="network %r: ipv4_range" % net.netid, salt="ipv4")
    return prefixes, subnets


def assign_vnis(nets, existing_networks):
    vnis = {}
    taken = set()
    for netid, record in sorted(existing_networks.items()):
        if record.get("vni") is not None:
            vni = int(record["vni"])
            if vni in taken:
                raise PlanError("ledger: VXLAN id %d is assigned to two networks (one is %r)" % (vni, netid))
            taken.add(vni)
            vnis[netid] = vni
    for net in sorted(nets, key=lambda n: n.netid):
        if net.netid not in vnis:
            vni = pick_number(1, VNI_MAX, "vni\x1f" + net.netid, taken, "VXLAN ids")
            taken.add(vni)
            vnis[net.netid] = vni
    return vnis


RELAY_KEY = ">"  # ports[relay][netid]["a>b"]: the relay's pair of ports for the pair (a, b)


def relay_key(a, b):
    return a + RELAY_KEY + b


def relay_pair(port):
    """A relay's two ports for one pair: the even one a dials, the odd one b dials."""
    return (port, port + 1)


def assign_ports(topologies, underlays, existing_ports):
    """A listen port per WireGuard link, and two per relayed pair on its relay, unique per node and kept
    once handed out.

    existing_ports and the result are {node: {netid: {peer: port}}}; a relay's
    pair of ports is under relay_key(a, b), a before b in member order. The
    preferred port of a link mixes a hash of the node with a hash of the
    (network, peer) key, each computed once, so planning stays linear in links.
    """
    existing_ports = existing_ports or {}
    node_hash = {}
    ports = {}
    taken = {}
    # Held ports first, on every node: a new link never takes a recorded port.
    for topology in topologies:
        for node in topology.members:
            if node in taken:
                continue
            node_hash[node] = digest_int("port", node)
            taken[node] = set()
            ports[node] = {}
            for netid, peers in (existing_ports.get(node) or {}).items():
                for peer, port in peers.items():
                    for one in relay_pair(int(port)) if RELAY_KEY in peer else (int(port),):
                        if one in taken[node]:
                            raise PlanError("ledger: node %r has port %d assigned twice" % (node, one))
                        taken[node].add(one)
    outside = {}  # node -> ["netid/peer (port)"]: held ports the node's port_range no longer holds
    for topology in topologies:
        netid = topology.net.netid
        key_hash = {m: digest_int("port", netid + "/" + m) for m in topology.members}
        for node in topology.members:
            held = (existing_ports.get(node) or {}).get(netid) or {}
            low, high = underlays[node].port_range
            size = high - low + 1
            used = taken[node]
            mine = ports[node][netid] = {}
            own_hash = node_hash[node]
            last = None
            wanted = []  # (peer, preferred slot): this node's WireGuard link ends, then its access peers' links
            for _unused, peer, link in topology.neighbours(node):  # in member order: no sort needed
                if link is not last:  # shared by pairs of one shape: looked at once, not per entry
                    wireguard, last = link.connection == "wireguard", link
                if wireguard:
                    wanted.append((peer, key_hash[peer]))
            for entry in topology.net.access:
                if entry.node == node:
                    wanted.append((port_key(entry.name), digest_int("port", netid + "/" + port_key(entry.name))))
            for peer, preferred in wanted:
                port = held.get(peer) if held else None
                if port is None:
                    if len(used) >= size:
                        raise PlanError(
                            "node %r: port_range %d-%d is exhausted (%d ports in use)" % (node, low, high, size))
                    port = low + (own_hash + preferred) % size
                    while port in used:
                        port = port + 1 if port < high else low
                    used.add(port)
                else:
                    port = int(port)
                    if not low <= port <= high:
                        outside.setdefault(node, []).append("%s/%s (%d)" % (netid, peer, port))
                mine[peer] = port
        _relay_ports(topology, underlays, existing_ports, ports, taken, node_hash, outside)
    if outside:
        node = min(outside)
        low, high = underlays[node].port_range
        raise PlanError(
            "node %r: port_range %d-%d no longer holds the listen ports of its links %s; ports are never "
            "renumbered behind the peers' backs: widen port_range to hold them"
            % (node, low, high, ", ".join(outside[node])))
    return ports


def _relay_ports(topology, underlays, existing_ports, ports, taken, node_hash, outside):
    """An even port and the next one on the relay of each relayed pair: a dials the first, b the second."""
    netid = topology.net.netid
    for a, b, link in topology.relayed_pairs():
        relay, key = link.relay, relay_key(a, b)
        held = ((existing_ports.get(relay) or {}).get(netid) or {}).get(key)
        low, high = underlays[relay].port_range
        if held is None:
            used, first = taken[relay], low + low % 2  # the even ports in the range, each with its odd neighbour
            count = (high - first + 1) // 2
            if count <= 0 or len(used) + 2 > high - low + 1:
                raise PlanError("node %r: port_range %d-%d is exhausted (relaying %s and %s in network %r)"
                                % (relay, low, high, a, b, netid))
            slot = (node_hash[relay] + digest_int("port", netid + "/" + key)) % count
            for _unused in range(count):
                port = first + 2 * slot
                if port not in used and port + 1 not in used:
                    break
                slot = (slot + 1) % count
            else:
                raise PlanError("node %r: port_range %d-%d has no two free neighbouring ports left (relaying %s "
                                "and %s in network %r)" % (relay, low, high, a, b, netid))
            used.update(relay_pair(port))
        else:
            port = int(held)
            if not low <= port < high:
                outside.setdefault(relay, []).append("%s/%s (%d)" % (netid, key, port))
        ports[relay].setdefault(netid, {})[key] = port
