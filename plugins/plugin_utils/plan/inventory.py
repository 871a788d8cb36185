# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory, read once: tenant networks and their hosts, as typed records.

Input is plain data (the ``gridnet_tenant_networks`` list, each node's
variables read by hosts.py, and public keys); output is an Inventory of small
immutable records. Everything a user can get wrong in one field is refused
here, with the offending item named; later stages never go back to the raw
input. What depends on allocations (an allow-list prefix inside the block, a
forward inside the subnets) is checked when it is rendered, by rules.py.
docs/data-model.md is the user-facing description of the same model.
"""

from __future__ import annotations

from collections import namedtuple


from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import access
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import (
    parse_address,
    parse_interface_address,
    parse_prefix,
)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError, netaddr
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.fields import (
    boolean,
    integer,
    known_keys,
    mapping,
    sequence,
)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.hosts import (
    read_exit_gateway,
    read_public_keys,
    read_underlay,
)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import net_tag

PROTOCOLS = ("tcp", "udp")
PRIVATE_IPV4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
ULA = "fc00::/7"
SUBNET_HOSTS = (2, 254)  # usable workload addresses of a resource's /24 (.1 is the gateway)

Inventory = namedtuple("Inventory", "networks underlays gateways keys")
Network = namedtuple(
    "Network",
    "netid tag members exit_node exit_ipv6 exit_ipv4 ipv4_range ipv6_allow ipv4_dnat vxlan_group ipv6_nat "
    "routing topology degree backup_exits hubs keepalive access failover",
    defaults=("static", "full", 4, (), (), 0, (), "normal"),
)
# failover: "fast" has babeld say hello FAST_HELLO times a second on every link, so a dead link stops carrying
# traffic in under a second (docs/routing.md: what it costs)
FAILOVERS = ("normal", "fast")
# access: access.Access entries, the outside peers (a person's device) that dial one member
# keepalive: seconds between WireGuard keepalives on every link (0: none but behind NAT), so that an idle link still
# shakes hands and the health view can tell it alive (docs/health.md); at most KEEPALIVE_MAX
KEEPALIVE_MAX = 3600
# backup_exits: ((node, uplink ipv6, uplink ipv4), ...) after exit_node, in order of preference
ROUTINGS = ("static", "babel")
TOPOLOGIES = ("full", "sparse", "hubs")
DEGREES = (2, 32)  # even: a node links to degree/2 successors on the ring and degree/2 predecessors link to it
# ipv6_allow entry: prefix (a string) or node (a member, meaning its /64); port None is every port
Allow = namedtuple("Allow", "what prefix node proto port")
# ipv4_dnat entry: to (an address) or node + host (the host-th address of the node's /24)
Forward = namedtuple("Forward", "what proto port to node host to_port")

_NETWORK_KEYS = {"netid", "tag", "members", "exit", "exits", "ipv4_range", "ipv6_allow", "ipv4_dnat", "vxlan_group",
                 "ipv6_nat", "routing", "topology", "degree", "hubs", "keepalive",
                 "access", "failover"}
_EXIT_KEYS = {"node", "ipv6", "ipv4"}


def read_inventory(networks, hostvars, groups=None, public_keys=None):
    """Every network, the underlay of every member, every exit gateway and every public key."""
    nets, underlays, gateways = read_networks(networks, hostvars, groups)
    nets = sorted(nets, key=lambda n: n.netid)
    return Inventory(nets, underlays, gateways, read_public_keys(nets, hostvars, public_keys))


def resolve_members(netid, members, hostvars, groups):
    """Expand host and group names into a sorted list of hosts."""
    if not isinstance(members, (list, tuple)) or not members:
        raise PlanError("network %r: members must be a non-empty list of hosts or groups" % netid)
    nodes = set()
    for name in members:
        if groups and name in groups:
            nodes.update(groups[name])
        elif name in hostvars:
            nodes.add(name)
        else:
            raise PlanError("network %r: member %r is neither a host nor a group of the inventory" % (netid, name))
    return sorted(nodes)


def _uplink_address(value, gateway, version, what):
    """An uplink address (address/len) whose gateway must sit on the same subnet (rules.uplink_address)."""
    if not value:
        return None
    address = str(parse_interface_address(value, what, version))
    rules.uplink_address(address, gateway, version, what)
    return address


def read_networks(networks, hostvars, groups=None):
    """Validate the list of tenant networks. Returns (networks, underlays, gateways)."""
    if not isinstance(networks, (list, tuple)):
        raise PlanError("gridnet_tenant_networks must be a list, got %s" % type(networks).__name__)
    seen, tags, result, underlays, gateways = {}, {}, [], {}, {}
    for position, raw in enumerate(networks):
        what = "gridnet_tenant_networks[%d]" % position
        mapping(raw, what)
        if not raw.get("netid"):
            raise PlanError("%s: netid is required" % what)
        netid = str(raw["netid"])
        what = "network %r" % netid
        known_keys(raw, _NETWORK_KEYS, what)
        if netid in seen:
            raise PlanError("duplicate netid %r (entries %d and %d)" % (netid, seen[netid], position))
        seen[netid] = position
        tag = net_tag(netid, raw.get("tag"))
        if tag in tags:
            raise PlanError("networks %r and %r have the same tag %r; set tag on one of them" % (tags[tag], netid, tag))
        tags[tag] = netid
        members = resolve_members(netid, raw.get("members"), hostvars, groups)
        exits = _exit_entries(raw, what, hostvars)
        members = sorted(set(members) | {node for node, _unused in exits})
        for node in members:
            if node not in underlays:
                underlays[node] = read_underlay(node, hostvars)
        exits = [_exit(conf, where, node, hostvars, underlays, gateways) for node, (conf, where) in exits]
        (exit_node, exit_ipv6, exit_ipv4), backup_exits = exits[0], tuple(exits[1:])
        gateway = gateways[exit_node]
        ipv4_range = _ipv4_range(raw.get("ipv4_range"), what)
        if raw.get("ipv4_dnat") and ipv4_range is None:
            raise PlanError("%s: ipv4_dnat needs ipv4_range (port forwards go to private IPv4 workloads)" % what)
        if raw.get("ipv4_dnat") and any(ipv4 is None for _node, _ipv6, ipv4 in exits):
            raise PlanError("%s: ipv4_dnat needs exit.ipv4 on every exit (the address the forwards listen on)" % what)
        vxlan_group = None
        if raw.get("vxlan_group"):
            group = parse_address(raw["vxlan_group"], what + ".vxlan_group")
            if not group.is_multicast():
                raise PlanError("%s.vxlan_group: %s is not a multicast address" % (what, group))
            vxlan_group = str(group)
        ipv6_nat = boolean(raw.get("ipv6_nat", False), what + ".ipv6_nat")
        if ipv6_nat and gateway.allocation not in netaddr.IPNetwork(ULA):
            raise PlanError("%s.ipv6_nat: NAT66 is only for ULA allocations (fc00::/7); %s of exit %r is routable,"
                            " route it instead" % (what, gateway.allocation, exit_node))
        result.append(Network(
            netid=netid, tag=tag, members=tuple(members), exit_node=exit_node,
            exit_ipv6=exit_ipv6, exit_ipv4=exit_ipv4, ipv4_range=ipv4_range,
            ipv6_allow=_allow_list(raw.get("ipv6_allow"), what, members),
            ipv4_dnat=_forwards(raw.get("ipv4_dnat"), what, members),
            vxlan_group=vxlan_group, ipv6_nat=ipv6_nat, backup_exits=backup_exits, **_routing(raw, what, members),
            keepalive=integer(raw.get("keepalive", 0), what + ".keepalive", 0, KEEPALIVE_MAX),
            access=access.read(raw.get("access"), what, members, underlays),
            failover=_choice(raw, "failover", FAILOVERS, what),
        ))
        if result[-1].failover != "normal" and result[-1].routing != "babel":
            raise PlanError("%s: failover %s needs routing babel (static routes do not fail over)"
                            % (what, result[-1].failover))
        if backup_exits and result[-1].routing != "babel":
            raise PlanError("%s: several exits need routing babel (static routes cannot fail over)" % what)
    return result, underlays, gateways


def _exit_entries(raw, what, hostvars):
    """[(node, (its entry, its name in errors))]: `exit`, or `exits` (two or more, the preferred first)."""
    if "exits" in raw:
        if "exit" in raw:
            raise PlanError("%s: give exit or exits, not both" % what)
        entries = sequence(raw["exits"], what + ".exits")
        if len(entries) < 2:
            raise PlanError("%s.exits: give two or more (one is `exit`)" % what)
        places = [(mapping(e, "%s.exits[%d]" % (what, i)), "%s.exits[%d]" % (what, i)) for i, e in enumerate(entries)]
    else:
        places = [(mapping(raw.get("exit") or {}, what + ".exit"), what + ".exit")]
    result, seen = [], set()
    for conf, where in places:
        known_keys(conf, _EXIT_KEYS, where)
        node = conf.get("node")
        if not node:
            raise PlanError("%s.node is required" % where)
        if node not in hostvars:
            raise PlanError("%s: exit node %r is not a host of the inventory" % (where, node))
        if node in seen:
            raise PlanError("%s: %r is already an exit of the network" % (where, node))
        seen.add(node)
        result.append((node, (conf, where)))
    return result


def _exit(conf, where, node, hostvars, underlays, gateways):
    """(node, uplink IPv6, uplink IPv4 or None) of one exit, checked against the node's exit gateway."""
    if node not in gateways:
        gateways[node] = read_exit_gateway(node, hostvars)
    gateway = gateways[node]
    if not underlays[node].reachable:
        raise PlanError("%s: exit node %r is not reachable (reachable: false); an exit must accept connections"
                        % (where, node))
    if not conf.get("ipv6"):
        raise PlanError("%s.ipv6 (the network's uplink address, address/len) is required" % where)
    return (node, _uplink_address(conf.get("ipv6"), gateway.ipv6_gateway, 6, where + ".ipv6"),
            _uplink_address(conf.get("ipv4"), gateway.ipv4_gateway, 4, where + ".ipv4"))


def _choice(raw, key, choices, what):
    value = str(raw.get(key, choices[0]))
    if value not in choices:
        raise PlanError("%s.%s: %r must be one of %s" % (what, key, value, ", ".join(choices)))
    return value


def _routing(raw, what, members):
    """routing, topology, degree and hubs: a partial mesh only works when routes follow the links that are up."""
    routing = _choice(raw, "routing", ROUTINGS, what)
    topology = _choice(raw, "topology", TOPOLOGIES, what)
    if topology != "full" and routing != "babel":
        raise PlanError("%s: topology %s needs routing babel (static routes cannot go around a missing "
                        "link)" % (what, topology))
    if "degree" in raw and topology != "sparse":
        raise PlanError("%s.degree: only a sparse topology has a degree" % what)
    degree = integer(raw.get("degree", 4), what + ".degree", *DEGREES)
    if degree % 2:
        raise PlanError("%s.degree: %d is odd; each node links to degree/2 successors on a ring" % (what, degree))
    if ("hubs" in raw) != (topology == "hubs"):
        raise PlanError("%s: hubs go with topology hubs, and topology hubs needs hubs" % what)
    hubs = tuple(sorted({str(h) for h in sequence(raw.get("hubs"), what + ".hubs")}))
    if topology == "hubs" and len(hubs) < 2:
        raise PlanError("%s.hubs: give two or more (one hub would be a single point of failure)" % what)
    strangers = [h for h in hubs if h not in members]
    if strangers:
        raise PlanError("%s.hubs: %r is not a member of the network" % (what, strangers[0]))
    return {"routing": routing, "topology": topology, "degree": degree, "hubs": hubs}


def _ipv4_range(value, what):
    if not value:
        return None
    ipv4_range = parse_prefix(value, what + ".ipv4_range", 4)
    if ipv4_range.prefixlen > 24:
        raise PlanError("%s.ipv4_range: %s is smaller than the /24 each network resource needs" % (what, ipv4_range))
    if not any(ipv4_range in netaddr.IPNetwork(r) for r in PRIVATE_IPV4):
        raise PlanError("%s.ipv4_range: %s is not a private range (RFC 1918 or RFC 6598)" % (what, ipv4_range))
    return ipv4_range


def _proto(raw, what):
    proto = str(raw.get("proto", "tcp"))
    if proto not in PROTOCOLS:
        raise PlanError("%s: proto %r must be one of %s" % (what, proto, ", ".join(PROTOCOLS)))
    return proto


def _allow_list(value, network_what, members):
    """IPv6 allow-list entries: destination (a prefix inside the network or a member), protocol, port."""
    entries = []
    for position, raw in enumerate(sequence(value, network_what + ".ipv6_allow")):
        what = "%s: ipv6_allow[%d]" % (network_what, position)
        mapping(raw, what)
        known_keys(raw, {"prefix", "node", "proto", "port"}, what)
        if ("prefix" in raw) == ("node" in raw):
            raise PlanError("%s: give exactly one of prefix or node" % what)
        if "node" in raw and raw["node"] not in members:
            raise PlanError("%s: node %r is not a member of the network" % (what, raw["node"]))
        entries.append(Allow(
            what=what,
            prefix=str(parse_prefix(raw["prefix"], what + ".prefix", 6)) if "prefix" in raw else None,
            node=raw.get("node"),
            proto=_proto(raw, what),
            port=integer(raw["port"], what + ".port", 1, 65535) if "port" in raw else None,
        ))
    return tuple(entries)


def _forwards(value, network_what, members):
    """IPv4 port forwards: uplink port to a workload address inside the network."""
    entries = []
    seen = {}
    for position, raw in enumerate(sequence(value, network_what + ".ipv4_dnat")):
        what = "%s: ipv4_dnat[%d]" % (network_what, position)
        mapping(raw, what)
        known_keys(raw, {"proto", "port", "node", "host", "to", "to_port"}, what)
        proto = _proto(raw, what)
        port = integer(raw.get("port"), what + ".port", 1, 65535)
        if (proto, port) in seen:
            raise PlanError("%s: %s port %d is already forwarded by ipv4_dnat[%d]" % (what, proto, port, seen[(proto, port)]))
        seen[(proto, port)] = position
        to = node = host = None
        if "to" in raw:
            to = str(parse_address(raw["to"], what + ".to", 4))
        else:
            node = raw.get("node")
            if node not in members:
                raise PlanError("%s: node %r is not a member of the network" % (what, node))
            host = integer(raw.get("host"), what + ".host", *SUBNET_HOSTS)
        entries.append(Forward(what=what, proto=proto, port=port, to=to, node=node, host=host,
                               to_port=integer(raw.get("to_port", port), what + ".to_port", 1, 65535)))
    return tuple(entries)
