# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory data model: read, validate and normalise.

Input is plain data (the ``gridnet_tenant_networks`` list and each node's
``gridnet_tenant_underlay`` / ``gridnet_tenant_exit`` variables); output is
small immutable records the mesh planner works on. Everything a user can get
wrong is refused here, with the offending item named. docs/data-model.md is
the user-facing description of the same model.
"""

from __future__ import annotations

from collections import namedtuple

try:
    import netaddr
except ImportError:  # pragma: no cover - reported by the filter plugins
    netaddr = None

from ansible_collections.gridnet.tenant.plugins.plugin_utils.carving import (
    parse_address,
    parse_interface_address,
    parse_prefix,
)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.naming import net_tag

DEFAULT_MTU = 1500
DEFAULT_PORT_RANGE = (51820, 59999)
DEFAULT_NETWORK_PREFIXLEN = 56
MIN_LINK_MTU = 1280  # IPv6 minimum link MTU (RFC 8200)
PROTOCOLS = ("tcp", "udp")
PRIVATE_IPV4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
ULA = netaddr.IPNetwork("fc00::/7") if netaddr else None

Underlay = namedtuple(
    "Underlay",
    "node ipv6 ipv4 reachable segment mtu link_mtu port_range l2_interface",
)
ExitGateway = namedtuple("ExitGateway", "node allocation network_prefixlen parent ipv4_gateway ipv6_gateway metric")
Network = namedtuple(
    "Network",
    "netid tag members exit_node exit_ipv6 exit_ipv4 ipv4_range ipv6_allow ipv4_dnat vxlan_group ipv6_nat",
)

_NETWORK_KEYS = {"netid", "tag", "members", "exit", "ipv4_range", "ipv6_allow", "ipv4_dnat", "vxlan_group",
                 "ipv6_nat"}
_EXIT_KEYS = {"node", "ipv6", "ipv4"}
_UNDERLAY_KEYS = {"ipv6", "ipv4", "reachable", "l2_segment", "l2_interface", "mtu", "link_mtu", "port_range"}
_GATEWAY_KEYS = {"allocation", "network_prefixlen", "uplink"}
_UPLINK_KEYS = {"parent", "ipv4_gateway", "ipv6_gateway", "metric"}


def _mapping(value, what):
    if not isinstance(value, dict):
        raise PlanError("%s must be a mapping, got %s" % (what, type(value).__name__))
    return value


def _known_keys(value, allowed, what):
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise PlanError("%s: unknown key(s) %s (allowed: %s)" % (what, ", ".join(unknown), ", ".join(sorted(allowed))))


def _int(value, what, low, high):
    if isinstance(value, bool):
        raise PlanError("%s: %r is not a number" % (what, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PlanError("%s: %r is not a number" % (what, value))
    if not low <= number <= high:
        raise PlanError("%s: %d is outside %d-%d" % (what, number, low, high))
    return number


def _bool(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
        return value.lower() in ("yes", "true")
    raise PlanError("%s: %r is not a boolean" % (what, value))


def host_vars(hostvars, node):
    """One host's variables, from a dict or Ansible's HostVars; {} for a host without any."""
    return (hostvars.get(node) if hasattr(hostvars, "get") else hostvars[node]) or {}


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


def read_underlay(node, hostvars):
    vars_ = host_vars(hostvars, node)
    what = "host %s: gridnet_tenant_underlay" % node
    data = _mapping(vars_.get("gridnet_tenant_underlay") or {}, what)
    _known_keys(data, _UNDERLAY_KEYS, what)
    ipv6 = str(parse_address(data["ipv6"], what + ".ipv6", 6)) if data.get("ipv6") else None
    ipv4 = str(parse_address(data["ipv4"], what + ".ipv4", 4)) if data.get("ipv4") else None
    if ipv6 is None and ipv4 is None:
        raise PlanError("%s: has neither ipv6 nor ipv4, the node has no path to its network" % what)
    mtu = _int(data.get("mtu", DEFAULT_MTU), what + ".mtu", 1280, 65535)
    link_mtu = data.get("link_mtu")
    if link_mtu is not None:
        link_mtu = _int(link_mtu, what + ".link_mtu", MIN_LINK_MTU, 65535)
    port_range = data.get("port_range", DEFAULT_PORT_RANGE)
    if not isinstance(port_range, (list, tuple)) or len(port_range) != 2:
        raise PlanError("%s.port_range: expected [first, last], got %r" % (what, port_range))
    low = _int(port_range[0], what + ".port_range", 1024, 65535)
    high = _int(port_range[1], what + ".port_range", low, 65535)
    segment = data.get("l2_segment")
    return Underlay(
        node=node,
        ipv6=ipv6,
        ipv4=ipv4,
        reachable=_bool(data.get("reachable", True), what + ".reachable"),
        segment=str(segment) if segment else None,
        mtu=mtu,
        link_mtu=link_mtu,
        port_range=(low, high),
        l2_interface=str(data["l2_interface"]) if data.get("l2_interface") else None,
    )


def read_exit_gateway(node, hostvars):
    vars_ = host_vars(hostvars, node)
    what = "host %s: gridnet_tenant_exit" % node
    data = vars_.get("gridnet_tenant_exit")
    if not data:
        raise PlanError("%s is not set, but the host is the exit of a network" % what)
    _mapping(data, what)
    _known_keys(data, _GATEWAY_KEYS, what)
    if "allocation" not in data:
        raise PlanError("%s.allocation: the IPv6 block to carve networks from is required" % what)
    allocation = parse_prefix(data["allocation"], what + ".allocation", 6)
    prefixlen = _int(data.get("network_prefixlen", DEFAULT_NETWORK_PREFIXLEN), what + ".network_prefixlen", allocation.prefixlen, 64)
    uplink = _mapping(data.get("uplink") or {}, what + ".uplink")
    _known_keys(uplink, _UPLINK_KEYS, what + ".uplink")
    if not uplink.get("parent"):
        raise PlanError("%s.uplink.parent: the uplink interface of the gateway is required" % what)
    return ExitGateway(
        node=node,
        allocation=allocation,
        network_prefixlen=prefixlen,
        parent=str(uplink["parent"]),
        ipv4_gateway=str(parse_address(uplink["ipv4_gateway"], what + ".uplink.ipv4_gateway", 4)) if uplink.get("ipv4_gateway") else None,
        ipv6_gateway=str(parse_address(uplink["ipv6_gateway"], what + ".uplink.ipv6_gateway", 6)) if uplink.get("ipv6_gateway") else None,
        metric=_int(uplink.get("metric", 1024), what + ".uplink.metric", 0, 4294967295),
    )


def _uplink_address(value, gateway, version, what):
    """An uplink address (address/len) whose gateway must sit on the same subnet."""
    if not value:
        return None
    net = parse_interface_address(value, what, version)
    if gateway is not None and parse_address(gateway, what + " gateway", version) not in net:
        raise PlanError("%s: gateway %s is not on the uplink subnet %s" % (what, gateway, net.cidr))
    return str(net)


def read_networks(networks, hostvars, groups=None):
    """Validate the list of tenant networks. Returns (networks, underlays, gateways)."""
    if not isinstance(networks, (list, tuple)):
        raise PlanError("gridnet_tenant_networks must be a list, got %s" % type(networks).__name__)
    seen = {}
    tags = {}
    result = []
    underlays = {}
    gateways = {}
    for position, raw in enumerate(networks):
        what = "gridnet_tenant_networks[%d]" % position
        _mapping(raw, what)
        if not raw.get("netid"):
            raise PlanError("%s: netid is required" % what)
        netid = str(raw["netid"])
        what = "network %r" % netid
        _known_keys(raw, _NETWORK_KEYS, what)
        if netid in seen:
            raise PlanError("duplicate netid %r (entries %d and %d)" % (netid, seen[netid], position))
        seen[netid] = position
        tag = net_tag(netid, raw.get("tag"))
        if tag in tags:
            raise PlanError("networks %r and %r have the same tag %r; set tag on one of them" % (tags[tag], netid, tag))
        tags[tag] = netid
        members = resolve_members(netid, raw.get("members"), hostvars, groups)
        exit_conf = _mapping(raw.get("exit") or {}, what + ".exit")
        _known_keys(exit_conf, _EXIT_KEYS, what + ".exit")
        exit_node = exit_conf.get("node")
        if not exit_node:
            raise PlanError("%s: exit.node is required" % what)
        if exit_node not in hostvars:
            raise PlanError("%s: exit node %r is not a host of the inventory" % (what, exit_node))
        if exit_node not in members:
            members = sorted(set(members) | {exit_node})
        for node in members:
            if node not in underlays:
                underlays[node] = read_underlay(node, hostvars)
        if exit_node not in gateways:
            gateways[exit_node] = read_exit_gateway(exit_node, hostvars)
        gateway = gateways[exit_node]
        if not underlays[exit_node].reachable:
            raise PlanError("%s: exit node %r is not reachable (reachable: false); an exit must accept connections" % (what, exit_node))
        if not exit_conf.get("ipv6"):
            raise PlanError("%s: exit.ipv6 (the network's uplink address, address/len) is required" % what)
        exit_ipv6 = _uplink_address(exit_conf.get("ipv6"), gateway.ipv6_gateway, 6, what + ".exit.ipv6")
        exit_ipv4 = _uplink_address(exit_conf.get("ipv4"), gateway.ipv4_gateway, 4, what + ".exit.ipv4")
        ipv4_range = None
        if raw.get("ipv4_range"):
            ipv4_range = parse_prefix(raw["ipv4_range"], what + ".ipv4_range", 4)
            if ipv4_range.prefixlen > 24:
                raise PlanError("%s.ipv4_range: %s is smaller than the /24 each network resource needs" % (what, ipv4_range))
            if not any(ipv4_range in netaddr.IPNetwork(r) for r in PRIVATE_IPV4):
                raise PlanError("%s.ipv4_range: %s is not a private range (RFC 1918 or RFC 6598)" % (what, ipv4_range))
        if raw.get("ipv4_dnat") and ipv4_range is None:
            raise PlanError("%s: ipv4_dnat needs ipv4_range (port forwards go to private IPv4 workloads)" % what)
        if raw.get("ipv4_dnat") and exit_ipv4 is None:
            raise PlanError("%s: ipv4_dnat needs exit.ipv4 (the address the forwards listen on)" % what)
        vxlan_group = None
        if raw.get("vxlan_group"):
            group = parse_address(raw["vxlan_group"], what + ".vxlan_group")
            if not group.is_multicast():
                raise PlanError("%s.vxlan_group: %s is not a multicast address" % (what, group))
            vxlan_group = str(group)
        ipv6_nat = _bool(raw.get("ipv6_nat", False), what + ".ipv6_nat")
        if ipv6_nat and gateway.allocation not in ULA:
            raise PlanError("%s.ipv6_nat: NAT66 is only for ULA allocations (fc00::/7); %s of exit %r is routable,"
                            " route it instead" % (what, gateway.allocation, exit_node))
        result.append(Network(
            netid=netid,
            tag=tag,
            members=tuple(members),
            exit_node=exit_node,
            exit_ipv6=exit_ipv6,
            exit_ipv4=exit_ipv4,
            ipv4_range=ipv4_range,
            ipv6_allow=_list(raw.get("ipv6_allow"), what + ".ipv6_allow"),
            ipv4_dnat=_list(raw.get("ipv4_dnat"), what + ".ipv4_dnat"),
            vxlan_group=vxlan_group,
            ipv6_nat=ipv6_nat,
        ))
    return result, underlays, gateways


def _list(value, what):
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise PlanError("%s must be a list" % what)
    return tuple(value)


def read_ipv6_allow(network, block, prefixes):
    """IPv6 allow-list entries: destination (a prefix inside the network or a member), protocol, port."""
    rules = []
    for position, raw in enumerate(network.ipv6_allow):
        what = "network %r: ipv6_allow[%d]" % (network.netid, position)
        _mapping(raw, what)
        _known_keys(raw, {"prefix", "node", "proto", "port"}, what)
        if ("prefix" in raw) == ("node" in raw):
            raise PlanError("%s: give exactly one of prefix or node" % what)
        if "node" in raw:
            if raw["node"] not in prefixes:
                raise PlanError("%s: node %r is not a member of the network" % (what, raw["node"]))
            dest = parse_prefix(prefixes[raw["node"]], what)
        else:
            dest = parse_prefix(raw["prefix"], what + ".prefix", 6)
            if dest not in block:
                raise PlanError("%s: %s is outside the network's block %s" % (what, dest, block))
        proto = str(raw.get("proto", "tcp"))
        if proto not in PROTOCOLS:
            raise PlanError("%s: proto %r must be one of %s" % (what, proto, ", ".join(PROTOCOLS)))
        port = _int(raw["port"], what + ".port", 1, 65535) if "port" in raw else None
        for other in rules:
            if other["proto"] == proto and (other["port"] is None or port is None or other["port"] == port) \
                    and (dest in parse_prefix(other["prefix"], what) or parse_prefix(other["prefix"], what) in dest):
                raise PlanError("%s overlaps an earlier entry (%s %s port %s)" % (what, other["prefix"], other["proto"], other["port"]))
        rules.append({"prefix": str(dest), "proto": proto, "port": port})
    return rules


def read_ipv4_dnat(network, subnets):
    """IPv4 port forwards: uplink port to a workload address inside the network."""
    rules = []
    seen = {}
    for position, raw in enumerate(network.ipv4_dnat):
        what = "network %r: ipv4_dnat[%d]" % (network.netid, position)
        _mapping(raw, what)
        _known_keys(raw, {"proto", "port", "node", "host", "to", "to_port"}, what)
        proto = str(raw.get("proto", "tcp"))
        if proto not in PROTOCOLS:
            raise PlanError("%s: proto %r must be one of %s" % (what, proto, ", ".join(PROTOCOLS)))
        port = _int(raw.get("port"), what + ".port", 1, 65535)
        if (proto, port) in seen:
            raise PlanError("%s: %s port %d is already forwarded by ipv4_dnat[%d]" % (what, proto, port, seen[(proto, port)]))
        seen[(proto, port)] = position
        if "to" in raw:
            target = parse_address(raw["to"], what + ".to", 4)
            if not any(target in parse_prefix(s, what) for s in subnets.values()):
                raise PlanError("%s: %s is outside the network's IPv4 subnets" % (what, target))
        else:
            node = raw.get("node")
            if node not in subnets:
                raise PlanError("%s: node %r is not a member of the network" % (what, node))
            subnet = parse_prefix(subnets[node], what)
            host = _int(raw.get("host"), what + ".host", 2, subnet.size - 2)
            target = subnet[host]
        rules.append({
            "proto": proto,
            "port": port,
            "to": str(target),
            "to_port": _int(raw.get("to_port", port), what + ".to_port", 1, 65535),
        })
    return rules
