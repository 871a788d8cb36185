# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering: the per-node network resources, from topology and allocations.

Each member gets its resource (names, addresses, every link with its peer,
routes through relays and towards the exit, or what its babeld needs); each
network's exits are exits.py's. Names are checked here, where all of a
node's interfaces are known. docs/data-model.md shows the shapes.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import access, exits
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.allocation import RELAY_KEY, relay_key, relay_pair
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import host_at
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import (
    resource_macs,
    router_id_prefix,
    wireguard_ifname,
)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.topology import underlay_address

PERSISTENT_KEEPALIVE = 25
FAST_HELLO = 0.2  # seconds between babeld's hellos with failover: fast (two missed: a dead link in 0.4-0.6 s)
VXLAN_PORT = 4789
DEFAULT_V6 = "::/0"
DEFAULT_V4 = "0.0.0.0/0"
ANY_SOURCE = (DEFAULT_V6, DEFAULT_V4)


class RenderedNetwork(object):
    """One network ready to render: its record, names, link-locals, addressing, public keys and topology."""

    def __init__(self, net, names, link_locals, prefixes, subnets, vni, block, keys, topology, access_peers=None):
        self.net, self.names, self.link_local = net, names, link_locals
        self.prefixes, self.subnets, self.vni, self.block = prefixes, subnets, vni, block
        self.keys, self.topology = keys, topology
        self.access = access_peers  # access.rendered_access's record, with ports once assigned; None: no access peers
        # per member: (its routed prefixes, its allowed IPs), as tuples of strings
        self.addressing = {}
        for peer in net.members:
            routed = (prefixes[peer], subnets[peer]) if subnets is not None else (prefixes[peer],)
            self.addressing[peer] = (routed, routed + (link_locals[peer] + "/128",))


def peer_views(rendered):
    """What every node sees of each peer, the same from any side: built once per network.

    Link entries share these objects; a full mesh has N*(N-1) of them, so each
    entry stays at ten keys (the size at which CPython's dict doubles), holding
    only strings, numbers and untracked tuples (see mesh.plan), so neither a view
    nor its copies are ever tracked by the cyclic collector.
    """
    views = {}
    for peer in rendered.topology.members:
        routed, allowed = rendered.addressing[peer]
        # every key a WireGuard link entry has, so an entry is a copy plus three stores (no resize)
        views[peer] = {
            "connection": "wireguard",
            "peer": peer,
            "prefixes": routed,
            "peer_link_local": rendered.link_local[peer],
            "interface": wireguard_ifname(rendered.keys[peer]),
            "public_key": rendered.keys[peer],
            "allowed_ips": allowed,
            "mtu": None,
            "listen_port": None,
            "endpoint": None,
        }
    return views


def endpoint_hosts(rendered):
    """Each member's endpoint host part per IP version ("[v6]:" / "v4:"), built once."""
    hosts = {}
    for peer in rendered.topology.members:
        u = rendered.topology.underlays[peer]
        hosts[peer] = {6: "[%s]:" % u.ipv6 if u.ipv6 else None, 4: "%s:" % u.ipv4 if u.ipv4 else None}
    return hosts


def relay_duties(rendered, relays):
    """{relay: what it forwards for network `rendered`} from the network's relay ports {relay_key(a, b): port}:
    per IP version ("ipv6"/"ipv4") its underlay address and the ports both ends of each pair dial."""
    topology, duties = rendered.topology, {}
    for key, port in relays.items():
        a, b = key.split(RELAY_KEY)
        link = topology.links[topology.shape_of[a]][topology.shape_of[b]]
        family = "ipv6" if link.family == 6 else "ipv4"
        duty = duties.setdefault(link.relay, {}).setdefault(
            family, {"address": underlay_address(topology.underlays[link.relay], link.family), "ports": []})
        duty["ports"].extend(relay_pair(port))
    for duty in duties.values():
        for entry in duty.values():
            entry["ports"].sort()
    return duties


def resource(rendered, node, views, hosts, ports, relaying):
    """node's network resource in network `rendered`; ports: its slices.PortTable; relaying: (the network's relay
    ports by relay_key, what node forwards as a relay or None)."""
    net, topology, names = rendered.net, rendered.topology, rendered.names
    underlays = topology.underlays
    underlay = underlays[node]
    exit_node = net.exit_node
    subnets_used = rendered.subnets is not None
    connected = []
    vxlan_peers = []
    vxlan_family = None
    interface_of = {}
    relays = not topology.complete  # without relays only the exit's entry is looked up again
    append = connected.append
    last = None
    own_ports, peer_ports = ports.own(), ports.towards()
    position = topology.index[node]
    babel = net.routing == "babel"
    for j, peer, link in topology.neighbours(node):
        if link is not last:  # Links are shared by pairs of one shape: unpack each once, not per entry
            connection, family, a_dials_b, b_dials_a, mtu, relay = last = link
        if connection == "wireguard":
            entry = views[peer].copy()
            entry["mtu"] = mtu
            entry["listen_port"] = own_ports[j]
            if babel:  # one peer per link: routing alone decides what goes through it
                entry["allowed_ips"] = ANY_SOURCE
            if relay is not None:  # both dial the relay: the pair's a its first port, b the second
                first = relaying[0][relay_key(node, peer) if position < j else relay_key(peer, node)]
                entry["endpoint"] = hosts[relay][family] + str(relay_pair(first)[0 if position < j else 1])
                entry["relay"] = relay
            elif b_dials_a if j < position else a_dials_b:  # node is the pair's b when the peer comes first
                entry["endpoint"] = hosts[peer][family] + str(peer_ports[j])
        else:
            view = views[peer]
            entry = {
                "connection": connection,
                "peer": peer,
                "prefixes": view["prefixes"],
                "peer_link_local": view["peer_link_local"],
                "interface": names["vxlan"],
                "mtu": mtu,
                "remote": underlay_address(underlays[peer], family),
            }
            vxlan_peers.append(entry)
            vxlan_family = family
        if relays or peer == exit_node:
            interface_of[peer] = entry
        append(entry)

    # A direct peer's own prefixes are routed from its `connected` entry;
    # `routes` holds what goes through a relay, the default route, and the access peers' addresses.
    routes = []
    if rendered.access:
        own_access = access.links(rendered.access, net.netid, node, topology.mtu)
        connected += own_access
        _access_routes(rendered, node, own_access, connected, routes)
    if babel:
        pass  # babeld installs every route, learnt over the links that are up
    elif relays:
        for other in net.members:
            if other != node and other not in interface_of:
                hop = topology.relay(node, other)
                _route_via(routes, interface_of[hop], rendered.link_local[hop], views[other]["prefixes"])
    if node != exit_node and not babel:
        hop = exit_node if exit_node in interface_of else topology.relay(node, exit_node)
        _route_via(routes, interface_of[hop], rendered.link_local[hop],
                   [DEFAULT_V6, DEFAULT_V4] if subnets_used and net.exit_ipv4 else [DEFAULT_V6])
    mine = views[node]["prefixes"]
    exit_rank = exits.exit_rank(net).get(node)  # None: not an exit of the network
    return {
        "netid": net.netid,
        "tag": net.tag,
        "exit": exit_node,
        "is_exit": exit_rank is not None,
        "namespace": names["namespace"],
        "bridge": names["bridge"],
        "veth_host": names["veth_host"],
        "veth_ns": names["veth_ns"],
        # fixed MACs: a re-created device keeps its peers' and workloads' neighbour entries valid
        "macs": resource_macs(net.netid, node, bool(vxlan_peers)),
        "prefix": mine[0],
        "gateway6": host_at(mine[0], 1),
        "ipv4": mine[1] if subnets_used else None,
        "gateway4": host_at(mine[1], 1) if subnets_used else None,
        "link_local": rendered.link_local[node],
        "mtu": topology.mtu,
        # a node behind NAT keeps every mapping open; nobody can dial it
        "persistent_keepalive": keepalive(net.keepalive, underlay.reachable),
        "vxlan": _vxlan(rendered, node, vxlan_peers, vxlan_family) if vxlan_peers else None,
        "connected": connected,
        "routes": routes,
        "relay": relaying[1],
        "babel": _babel(rendered, node, connected, mine, exit_rank) if babel else None,
    }


def _access_routes(rendered, node, own_access, connected, routes):
    """Routes to the access peers' addresses: into node's own link to one, else (static routing) towards the
    member it dials, directly or through that member's relay; with babel its babeld announces them."""
    babel, topology = rendered.net.routing == "babel", rendered.topology
    by_peer = {entry["peer"]: entry for entry in connected}

    def hop_link(member):
        if babel or member == node:
            return None
        hop = member if member in by_peer else topology.relay(node, member)
        return by_peer[hop]
    for address, link in access.routes(rendered.access, own_access, hop_link):
        if link.get("access"):  # its own link to the peer
            routes.append({"dst": address, "interface": link["interface"], "gateway": link["peer_link_local"]})
        else:
            _route_via(routes, link, rendered.link_local[link["peer"]], [address])


def keepalive(asked, reachable):
    """A resource's keepalive on its links: the network's, and never rarer than PERSISTENT_KEEPALIVE behind NAT."""
    if reachable:
        return asked
    return min(asked, PERSISTENT_KEEPALIVE) if asked else PERSISTENT_KEEPALIVE


def _babel(rendered, node, connected, mine, rank):
    """What node's babeld needs from the plan: who it is, its links, what it announces (module_utils/babel.py)."""
    interfaces = {c["interface"]: "wired" if c["connection"] == "localvxlan" else "tunnel" for c in connected
                  if not c.get("access")}  # an access peer speaks no Babel
    # its own access peers' addresses: exactly what their links let in
    announced = [address for c in connected if c.get("access") for address in c["allowed_ips"]]
    fast = {"hello": FAST_HELLO} if rendered.net.failover == "fast" else {}
    return {
        "router_id_prefix": router_id_prefix(rendered.net.netid, node),
        "interfaces": [dict({"name": name, "type": interfaces[name]}, **fast) for name in sorted(interfaces)],
        "announce": list(mine) + announced,
        # exits announce their default routes, the preferred one (the first) at the lowest metric
        "default_metric": None if rank is None else exits.EXIT_DEFAULT_METRIC + exits.BACKUP_EXIT_COST * rank,
    }


def _vxlan(rendered, node, vxlan_peers, family):
    """The network's VXLAN device on this node; every VXLAN peer entry takes its MTU."""
    mtu = min(e["mtu"] for e in vxlan_peers)
    for entry in vxlan_peers:
        entry["mtu"] = mtu
    group, underlay = rendered.net.vxlan_group, rendered.topology.underlays[node]
    if group is not None and (":" in group) != (family == 6):
        raise PlanError("network %r: vxlan_group %s is not of the IP version the segment uses (IPv%d)"
                        % (rendered.net.netid, group, family))
    if group is not None and not underlay.l2_interface:
        raise PlanError("host %s: gridnet_tenant_underlay.l2_interface is required for network %r's vxlan_group"
                        % (node, rendered.net.netid))
    return {
        "name": rendered.names["vxlan"],
        "vni": rendered.vni,
        "port": VXLAN_PORT,
        "local": underlay_address(underlay, family),
        "mtu": mtu,
        # multicast: peers are found through the group on the segment's interface, not fdb entries
        "group": group,
        "device": underlay.l2_interface if group is not None else None,
    }


def _route_via(routes, link, gateway, destinations):
    """Route destinations over a link; a WireGuard link must also accept them as sources."""
    for dst in destinations:
        routes.append({"dst": dst, "interface": link["interface"], "gateway": gateway})
    if link["connection"] == "wireguard":
        link["allowed_ips"] = link["allowed_ips"] + tuple(destinations)


def check_link_names(rendered):
    """Within one network every member's WireGuard link name (from its key) is its own."""
    owner = {}
    keys = [(peer, rendered.keys[peer]) for peer in rendered.net.members]
    keys += [("access peer " + entry.name, entry.public_key) for entry in rendered.net.access]
    for peer, key in keys:
        first = owner.setdefault(wireguard_ifname(key), peer)
        if first != peer:
            raise PlanError("network %r: %r and %r would both be reached over a link named %s (the same public key?)"
                            % (rendered.net.netid, first, peer, wireguard_ifname(key)))


def check_names(node, resources):
    """Every interface a node's resources create must have its own name on that node.

    One resource cannot clash with itself: its link names are distinct per network
    (check_link_names) and start with gtw, unlike the per-network names.
    """
    if len(resources) < 2:
        return
    owner = {}
    for entry in resources:
        names = [entry["bridge"], entry["veth_host"], entry["veth_ns"]]
        names += [c["interface"] for c in entry["connected"] if c["connection"] == "wireguard"]
        if entry["vxlan"]:
            names.append(entry["vxlan"]["name"])
        for name in names:
            if name in owner:
                raise PlanError(
                    "node %r: interface name %s is needed twice (networks %r and %r; "
                    "a public key used for two links?)" % (node, name, owner[name], entry["netid"])
                )
            owner[name] = entry["netid"]
