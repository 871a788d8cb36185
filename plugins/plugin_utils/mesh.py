# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh plan: inventory + public keys + existing assignments -> per-node state.

A pure function of its inputs. It never looks at which hosts are in the play,
so ``--limit`` gives a host exactly the configuration a full run gives it.

For every tenant network:
  * each member gets a network resource: a /64 from the network's block
    (itself carved from the exit gateway's allocation), optionally a private
    IPv4 /24, a namespace, a bridge and a veth;
  * each pair of members gets a direct link when one can dial the other
    (``localvxlan`` when both sit on the same L2 segment, else ``wireguard``),
    otherwise their traffic is routed through a relay both can reach;
  * every member routes the other prefixes over those links and its default
    route towards the exit.
"""

from __future__ import annotations

import gc

try:
    import netaddr
except ImportError:  # pragma: no cover - reported by the filter plugins
    netaddr = None

from ansible_collections.gridnet.tenant.plugins.plugin_utils.carving import carve, host_at, pick_number
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.inventory import (
    MIN_LINK_MTU,
    host_vars,
    read_ipv4_dnat,
    read_ipv6_allow,
    read_networks,
)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.naming import (
    VNI_MAX,
    digest_int,
    exit_table,
    link_local,
    resource_names,
    uplink_mac,
    validate_public_key,
    wireguard_ifname,
)

# Encapsulation overhead in bytes, by outer IP version (brief: WireGuard 80/60,
# VXLAN 70/50: outer IP + UDP + WireGuard or VXLAN header + inner Ethernet).
WIREGUARD_OVERHEAD = {6: 80, 4: 60}
VXLAN_OVERHEAD = {6: 70, 4: 50}
PERSISTENT_KEEPALIVE = 25
VXLAN_PORT = 4789
DEFAULT_V6 = "::/0"
DEFAULT_V4 = "0.0.0.0/0"


def _address(underlay, family):
    return underlay.ipv6 if family == 6 else underlay.ipv4


def direct_link(a, b):
    """How two nodes' network resources connect directly, or None.

    Returns (connection, family, a_dials_b, b_dials_a). A node dials a peer
    when the peer is reachable on a family both have; a node behind NAT is
    never dialled.
    """
    if a.segment is not None and a.segment == b.segment:
        for family in (6, 4):
            if _address(a, family) and _address(b, family):
                return ("localvxlan", family, True, True)
    for family in (6, 4):
        if _address(a, family) and _address(b, family):
            a_dials_b = b.reachable
            b_dials_a = a.reachable
            if a_dials_b or b_dials_a:
                return ("wireguard", family, a_dials_b, b_dials_a)
    return None


def link_mtu(a, b, connection, family):
    overhead = (WIREGUARD_OVERHEAD if connection == "wireguard" else VXLAN_OVERHEAD)[family]
    mtu = min(a.mtu, b.mtu) - overhead
    for cap in (a.link_mtu, b.link_mtu):
        if cap is not None:
            mtu = min(mtu, cap)
    if mtu < MIN_LINK_MTU:
        raise PlanError(
            "link %s <-> %s: %s over IPv%d leaves an MTU of %d, below the IPv6 minimum %d "
            "(underlay MTUs %d and %d)" % (a.node, b.node, connection, family, mtu, MIN_LINK_MTU, a.mtu, b.mtu)
        )
    return mtu


def _read_public_keys(nets, hostvars, public_keys):
    """{(netid, node): key}. A missing key is an error, never a dropped peer."""
    keys = {}
    owners = {}
    for net in nets:
        for node in net.members:
            node_keys = (public_keys or {}).get(node)
            if node_keys is None:
                node_keys = host_vars(hostvars, node).get("gridnet_tenant_public_keys") or {}
            key = node_keys.get(net.netid)
            if key is None:
                raise PlanError(
                    "network %r: no public key for node %r; run the keys step on it "
                    "(the site playbook does) or record it in the ledger" % (net.netid, node)
                )
            validate_public_key(key, "network %r, node %r" % (net.netid, node))
            if (net.netid, key) in owners:
                raise PlanError(
                    "network %r: nodes %r and %r have the same public key"
                    % (net.netid, owners[(net.netid, key)], node)
                )
            owners[(net.netid, key)] = node
            keys[(net.netid, node)] = key
    return keys


def _carve_blocks(nets, gateways, existing_networks, released_blocks=()):
    """One block per network from its exit's allocation; one route upstream per network."""
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


def _assign_vnis(nets, existing_networks):
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


class _Network(object):
    """Working state of one network while planning."""

    def __init__(self, net, underlays):
        self.net = net
        self.members = net.members
        self.underlays = underlays
        self.names = resource_names(net.tag)
        # node -> [(peer, link record, side)], side 0 when node is the record's a; a record,
        # shared by both ends, is [connection, family, a_dials_b, b_dials_a, mtu, port_a, port_b]
        self.adjacency = {m: [] for m in self.members}
        self.relays = {}     # (a, b) with a < b -> relay node
        self.link_local = {m: link_local(net.netid, m) for m in self.members}
        self.mtu = None

    def connect(self):
        members = self.members
        # Nodes with the same underlay shape link the same way: decide once per shape pair.
        shapes = {}
        shape_of = {}
        for m in members:
            u = self.underlays[m]
            shape_of[m] = shapes.setdefault(
                (u.ipv6 is not None, u.ipv4 is not None, u.reachable, u.segment, u.mtu, u.link_mtu), len(shapes))
        decided = {}
        count = 0
        mtu = None
        adjacency = self.adjacency
        for i, a in enumerate(members):
            ua = self.underlays[a]
            sa = shape_of[a]
            adjacency_a = adjacency[a]
            for b in members[i + 1:]:
                key = (sa, shape_of[b])
                if key in decided:
                    found = decided[key]
                else:
                    ub = self.underlays[b]
                    found = direct_link(ua, ub)
                    if found is not None:
                        found = found + (link_mtu(ua, ub, found[0], found[1]),)
                    decided[key] = found
                if found is not None:
                    record = list(found) + [None, None]
                    count += 1
                    if mtu is None or found[4] < mtu:
                        mtu = found[4]
                    adjacency_a.append((b, record, 0))
                    adjacency[b].append((a, record, 1))
        self.mtu = mtu if count else min(self.underlays[m].mtu for m in members)
        if count == len(members) * (len(members) - 1) // 2:
            return
        peer_sets = {m: {peer for peer, _, _ in linked} for m, linked in adjacency.items()}
        exit_node = self.net.exit_node
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if b in peer_sets[a]:
                    continue
                both = peer_sets[a] & peer_sets[b]
                if not both:
                    raise PlanError(
                        "network %r: nodes %r and %r cannot reach each other, neither directly "
                        "(both behind NAT or no common IP version) nor through a relay both can reach"
                        % (self.net.netid, a, b)
                    )
                self.relays[(a, b)] = exit_node if exit_node in both else min(both)

def _assign_ports(working, underlays, existing_ports):
    """A listen port per WireGuard link, unique per node, kept once handed out.

    existing_ports and the result are {node: {netid: {peer: port}}}. The
    preferred port of a link mixes a hash of the node with a hash of the
    (network, peer) key, each computed once, so planning stays linear in links.
    """
    existing_ports = existing_ports or {}
    node_hash = {}
    ports = {}
    taken = {}
    # Held ports first, on every node: a new link never takes a recorded port.
    for w in working:
        for node in w.members:
            if node in taken:
                continue
            node_hash[node] = digest_int("port", node)
            taken[node] = set()
            ports[node] = {}
            for netid, peers in (existing_ports.get(node) or {}).items():
                for peer, port in peers.items():
                    if int(port) in taken[node]:
                        raise PlanError("ledger: node %r has port %d assigned twice" % (node, int(port)))
                    taken[node].add(int(port))
    for w in working:
        netid = w.net.netid
        key_hash = {m: digest_int("port", netid + "/" + m) for m in w.members}
        for node in w.members:
            held = (existing_ports.get(node) or {}).get(netid) or {}
            low, high = underlays[node].port_range
            size = high - low + 1
            used = taken[node]
            mine = ports[node][netid] = {}
            own_hash = node_hash[node]
            for peer, record, side in w.adjacency[node]:  # in member order, so no sort is needed
                if record[0] != "wireguard":
                    continue
                port = held.get(peer) if held else None
                if port is None:
                    if len(used) >= size:
                        raise PlanError(
                            "node %r: port_range %d-%d is exhausted (%d ports in use)" % (node, low, high, size))
                    port = low + (own_hash + key_hash[peer]) % size
                    while port in used:
                        port = port + 1 if port < high else low
                    used.add(port)
                else:
                    port = int(port)
                record[5 + side] = port
                mine[peer] = port
    return ports


def plan(networks, hostvars, groups=None, public_keys=None, assignments=None):
    """The complete plan. See docs/data-model.md for the shape of every part."""
    # A full mesh of N nodes is N*(N-1) link entries, all acyclic; the cyclic
    # collector would rescan them again and again while they are built.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _plan(networks, hostvars, groups, public_keys, assignments)
    finally:
        if paused:
            gc.enable()


def _plan(networks, hostvars, groups, public_keys, assignments):
    nets, underlays, gateways = read_networks(networks, hostvars, groups)
    nets = sorted(nets, key=lambda n: n.netid)
    assignments = assignments or {}
    existing_networks = assignments.get("networks") or {}
    # given back after a removal was applied: reused only once nothing else is free
    released = assignments.get("released") or {}
    keys = _read_public_keys(nets, hostvars, public_keys)
    blocks = _carve_blocks(nets, gateways, existing_networks, released.get("blocks") or ())
    vnis = _assign_vnis(nets, existing_networks)

    working = []
    prefixes = {}
    subnets = {}
    for net in nets:
        held = (existing_networks.get(net.netid) or {}).get("resources") or {}
        prefixes[net.netid] = carve(
            blocks[net.netid], 64, net.members,
            {n: r["prefix"] for n, r in held.items() if r.get("prefix")},
            (released.get("prefixes") or {}).get(net.netid) or (),
            what="network %r: block" % net.netid, salt="resource")
        if net.ipv4_range is not None:
            subnets[net.netid] = carve(
                net.ipv4_range, 24, net.members,
                {n: r["ipv4"] for n, r in held.items() if r.get("ipv4")},
                (released.get("ipv4") or {}).get(net.netid) or (),
                what="network %r: ipv4_range" % net.netid, salt="ipv4")
        working.append(_Network(net, underlays))
    addressing = {w.net.netid: _addressing(w, prefixes[w.net.netid], subnets.get(w.net.netid)) for w in working}
    # A young-generation pass now (only the inventory is young yet) untracks those tuples,
    # so the views built from them, and the million link entries copied from those, are
    # never tracked by the cyclic collector: it would scan them all when re-enabled.
    gc.collect(0)
    for w in working:
        w.connect()

    ports = _assign_ports(working, underlays, assignments.get("ports"))

    nodes = {}
    exits = []
    for w in working:
        netid = w.net.netid
        views = _peer_views(w, keys, addressing[netid])
        _check_link_names(netid, views)
        endpoint_hosts = _endpoint_hosts(w)
        for node in w.members:
            resource = _resource(w, node, views, endpoint_hosts, vnis[netid])
            nodes.setdefault(node, {"resources": []})["resources"].append(resource)
        exits.append(_exit(w, gateways[w.net.exit_node], blocks[netid], prefixes[netid], subnets.get(netid)))

    for node, state in nodes.items():
        _check_names(node, state["resources"])

    return {
        "nodes": dict(sorted(nodes.items())),
        "exits": exits,
        "upstream_routes": [
            {"netid": e["netid"], "prefix": e["block"], "via": e["gateway_address"], "exit": e["node"]}
            for e in exits if not e["ipv6_nat"]  # a NAT66'd ULA block is not routed upstream
        ],
        "assignments": {
            "networks": {
                w.net.netid: {
                    "block": blocks[w.net.netid],
                    "vni": vnis[w.net.netid],
                    "resources": {
                        n: {"prefix": prefixes[w.net.netid][n], "ipv4": (subnets.get(w.net.netid) or {}).get(n),
                            "public_key": keys[(w.net.netid, n)]}
                        for n in w.members
                    },
                }
                for w in working
            },
            "ports": ports,
        },
    }


def _addressing(w, prefixes, subnets):
    """Per member: (its routed prefixes, its allowed IPs), as tuples of strings."""
    result = {}
    for peer in w.members:
        routed = (prefixes[peer], subnets[peer]) if subnets is not None else (prefixes[peer],)
        result[peer] = (routed, routed + (w.link_local[peer] + "/128",))
    return result


def _peer_views(w, keys, addressing):
    """What every node sees of each peer, the same from any side: built once per network.

    Link entries share these objects; a full mesh has N*(N-1) of them, so each
    entry stays at ten keys (the size at which CPython's dict doubles), holding
    only strings, numbers and untracked tuples (see _plan), so neither a view
    nor its copies are ever tracked by the cyclic collector.
    """
    netid = w.net.netid
    views = {}
    for peer in w.members:
        routed, allowed = addressing[peer]
        # every key a WireGuard link entry has, so an entry is a copy plus three stores (no resize)
        views[peer] = {
            "connection": "wireguard",
            "peer": peer,
            "prefixes": routed,
            "peer_link_local": w.link_local[peer],
            "interface": wireguard_ifname(keys[(netid, peer)]),
            "public_key": keys[(netid, peer)],
            "allowed_ips": allowed,
            "mtu": None,
            "listen_port": None,
            "endpoint": None,
        }
    return views


def _endpoint_hosts(w):
    """Each member's endpoint host part per IP version ("[v6]:" / "v4:"), built once."""
    hosts = {}
    for peer in w.members:
        u = w.underlays[peer]
        hosts[peer] = {6: "[%s]:" % u.ipv6 if u.ipv6 else None, 4: "%s:" % u.ipv4 if u.ipv4 else None}
    return hosts


def _resource(w, node, views, endpoint_hosts, vni):
    net = w.net
    netid = net.netid
    underlays = w.underlays
    underlay = underlays[node]
    exit_node = net.exit_node
    subnets_used = len(views[node]["prefixes"]) == 2
    connected = []
    vxlan_peers = []
    vxlan_family = None
    interface_of = {}
    relays = w.relays  # without relays only the exit's entry is looked up again
    append = connected.append
    for peer, record, side in w.adjacency[node]:
        if record[0] == "wireguard":
            entry = views[peer].copy()
            entry["mtu"] = record[4]
            entry["listen_port"] = record[5 + side]
            if record[2 + side]:
                entry["endpoint"] = endpoint_hosts[peer][record[1]] + str(record[6 - side])
        else:
            view, family = views[peer], record[1]
            entry = {
                "connection": record[0],
                "peer": peer,
                "prefixes": view["prefixes"],
                "peer_link_local": view["peer_link_local"],
                "interface": w.names["vxlan"],
                "mtu": record[4],
                "remote": _address(underlays[peer], family),
            }
            vxlan_peers.append(entry)
            vxlan_family = family
        if relays or peer == exit_node:
            interface_of[peer] = entry
        append(entry)

    # A direct peer's own prefixes are routed from its `connected` entry;
    # `routes` holds what goes through a relay, and the default route.
    routes = []
    if w.relays:
        for other in net.members:
            if other == node or other in interface_of:
                continue
            hop = w.relays[(node, other) if node < other else (other, node)]
            _route_via(routes, interface_of[hop], w.link_local[hop], views[other]["prefixes"])
    if node != exit_node:
        hop = exit_node if exit_node in interface_of else \
            w.relays[(node, exit_node) if node < exit_node else (exit_node, node)]
        _route_via(routes, interface_of[hop], w.link_local[hop],
                   [DEFAULT_V6, DEFAULT_V4] if subnets_used and net.exit_ipv4 else [DEFAULT_V6])

    vxlan = None
    if vxlan_peers:
        vxlan_mtu = min(e["mtu"] for e in vxlan_peers)
        for entry in vxlan_peers:
            entry["mtu"] = vxlan_mtu
        group = net.vxlan_group
        if group is not None and (":" in group) != (vxlan_family == 6):
            raise PlanError("network %r: vxlan_group %s is not of the IP version the segment uses (IPv%d)"
                            % (netid, group, vxlan_family))
        if group is not None and not underlay.l2_interface:
            raise PlanError("host %s: gridnet_tenant_underlay.l2_interface is required for network %r's vxlan_group"
                            % (node, netid))
        vxlan = {
            "name": w.names["vxlan"],
            "vni": vni,
            "port": VXLAN_PORT,
            "local": _address(underlay, vxlan_family),
            "mtu": vxlan_mtu,
            # multicast: peers are found through the group on the segment's interface, not fdb entries
            "group": group,
            "device": underlay.l2_interface if group is not None else None,
        }
    names = w.names
    mine = views[node]["prefixes"]
    return {
        "netid": netid,
        "tag": net.tag,
        "exit": exit_node,
        "is_exit": node == exit_node,
        "namespace": names["namespace"],
        "bridge": names["bridge"],
        "veth_host": names["veth_host"],
        "veth_ns": names["veth_ns"],
        "prefix": mine[0],
        "gateway6": host_at(mine[0], 1),
        "ipv4": mine[1] if subnets_used else None,
        "gateway4": host_at(mine[1], 1) if subnets_used else None,
        "link_local": w.link_local[node],
        "mtu": w.mtu,
        # a node behind NAT keeps every mapping open; nobody can dial it
        "persistent_keepalive": 0 if underlay.reachable else PERSISTENT_KEEPALIVE,
        "vxlan": vxlan,
        "connected": connected,
        "routes": routes,
    }


def _route_via(routes, link, gateway, destinations):
    """Route destinations over a link; a WireGuard link must also accept them as sources."""
    for dst in destinations:
        routes.append({"dst": dst, "interface": link["interface"], "gateway": gateway})
    if link["connection"] == "wireguard":
        link["allowed_ips"] = link["allowed_ips"] + tuple(destinations)


def _exit(w, gateway, block, prefixes, subnets):
    net = w.net
    return {
        "netid": net.netid,
        "node": net.exit_node,
        "namespace": w.names["namespace"],
        "block": block,
        "gateway_address": net.exit_ipv6.split("/")[0],
        "table": exit_table(net.tag),
        "ipv6_nat": net.ipv6_nat,
        "uplink": {
            "name": w.names["uplink"],
            "mac": uplink_mac(net.netid, net.exit_node),
            # Neighbour Discovery for forwarded packets is sent from a link-local address
            "link_local": w.link_local[net.exit_node],
            "parent": gateway.parent,
            "metric": gateway.metric,
            "ipv6": {"address": net.exit_ipv6, "gateway": gateway.ipv6_gateway},
            "ipv4": {"address": net.exit_ipv4, "gateway": gateway.ipv4_gateway} if net.exit_ipv4 else None,
        },
        "prefixes": [prefixes[m] for m in net.members],
        "ipv4_subnets": [subnets[m] for m in net.members] if subnets else [],
        "ipv4_range": str(net.ipv4_range) if net.ipv4_range is not None else None,
        "ipv6_allow": read_ipv6_allow(net, netaddr.IPNetwork(block), prefixes),
        "ipv4_dnat": read_ipv4_dnat(net, subnets or {}),
    }


def _check_link_names(netid, views):
    """Within one network every member's WireGuard link name (from its key) is its own."""
    owner = {}
    for peer, view in views.items():
        first = owner.setdefault(view["interface"], peer)
        if first != peer:
            raise PlanError("network %r: nodes %r and %r would both be reached over a link named %s"
                            % (netid, first, peer, view["interface"]))


def _check_names(node, resources):
    """Every interface a node's resources create must have its own name on that node.

    One resource cannot clash with itself: its link names are distinct per network
    (_check_link_names) and start with gtw, unlike the per-network names.
    """
    if len(resources) < 2:
        return
    owner = {}
    for resource in resources:
        names = [resource["bridge"], resource["veth_host"], resource["veth_ns"]]
        names += [c["interface"] for c in resource["connected"] if c["connection"] == "wireguard"]
        if resource["vxlan"]:
            names.append(resource["vxlan"]["name"])
        for name in names:
            if name in owner:
                raise PlanError(
                    "node %r: interface name %s is needed twice (networks %r and %r; "
                    "a public key used for two links?)" % (node, name, owner[name], resource["netid"])
                )
            owner[name] = resource["netid"]
