# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host inventory variables, read and checked: underlays, exit gateways, public keys.

``gridnet_tenant_underlay`` and ``gridnet_tenant_exit`` become small immutable
records; public keys come from the ledger or the hosts' published facts.
docs/data-model.md is the user-facing description of the same model.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.common.rules import check_ifname
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import parse_address, parse_prefix
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.fields import boolean, integer, known_keys, mapping

DEFAULT_MTU = 1500
DEFAULT_PORT_RANGE = (51820, 59999)
DEFAULT_NETWORK_PREFIXLEN = 56
MIN_LINK_MTU = 1280  # IPv6 minimum link MTU (RFC 8200)

Underlay = namedtuple(
    "Underlay",
    "node ipv6 ipv4 reachable segment mtu link_mtu port_range l2_interface",
)
ExitGateway = namedtuple("ExitGateway", "node allocation network_prefixlen parent ipv4_gateway ipv6_gateway metric")

_UNDERLAY_KEYS = {"ipv6", "ipv4", "reachable", "l2_segment", "l2_interface", "mtu", "link_mtu", "port_range"}
_GATEWAY_KEYS = {"allocation", "network_prefixlen", "uplink"}
_UPLINK_KEYS = {"parent", "ipv4_gateway", "ipv6_gateway", "metric"}


def host_vars(hostvars, node):
    """One host's variables, from a dict or Ansible's HostVars; {} for a host without any."""
    return (hostvars.get(node) if hasattr(hostvars, "get") else hostvars[node]) or {}


def read_underlay(node, hostvars):
    vars_ = host_vars(hostvars, node)
    what = "host %s: gridnet_tenant_underlay" % node
    data = mapping(vars_.get("gridnet_tenant_underlay") or {}, what)
    known_keys(data, _UNDERLAY_KEYS, what)
    ipv6 = str(parse_address(data["ipv6"], what + ".ipv6", 6)) if data.get("ipv6") else None
    ipv4 = str(parse_address(data["ipv4"], what + ".ipv4", 4)) if data.get("ipv4") else None
    if ipv6 is None and ipv4 is None:
        raise PlanError("%s: has neither ipv6 nor ipv4, the node has no path to its network" % what)
    mtu = integer(data.get("mtu", DEFAULT_MTU), what + ".mtu", 1280, 65535)
    link_mtu = data.get("link_mtu")
    if link_mtu is not None:
        link_mtu = integer(link_mtu, what + ".link_mtu", MIN_LINK_MTU, 65535)
    port_range = data.get("port_range", DEFAULT_PORT_RANGE)
    if not isinstance(port_range, (list, tuple)) or len(port_range) != 2:
        raise PlanError("%s.port_range: expected [first, last], got %r" % (what, port_range))
    low = integer(port_range[0], what + ".port_range", 1024, 65535)
    high = integer(port_range[1], what + ".port_range", low, 65535)
    segment = _name(data.get("l2_segment"), what + ".l2_segment", "a segment name")
    l2_interface = _name(data.get("l2_interface"), what + ".l2_interface", "an interface name")
    if l2_interface is not None:
        check_ifname(l2_interface, what + ".l2_interface")
    return Underlay(
        node=node,
        ipv6=ipv6,
        ipv4=ipv4,
        reachable=boolean(data.get("reachable", True), what + ".reachable"),
        segment=segment,
        mtu=mtu,
        link_mtu=link_mtu,
        port_range=(low, high),
        l2_interface=l2_interface,
    )


def _name(value, what, kind):
    """A name given as a string (or a number); None when unset. A list or a mapping is a mistake, not a name."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PlanError("%s: %r is not %s (a string)" % (what, value, kind))
    return str(value)


def read_exit_gateway(node, hostvars):
    vars_ = host_vars(hostvars, node)
    what = "host %s: gridnet_tenant_exit" % node
    data = vars_.get("gridnet_tenant_exit")
    if not data:
        raise PlanError("%s is not set, but the host is the exit of a network" % what)
    mapping(data, what)
    known_keys(data, _GATEWAY_KEYS, what)
    if "allocation" not in data:
        raise PlanError("%s.allocation: the IPv6 block to carve networks from is required" % what)
    allocation = parse_prefix(data["allocation"], what + ".allocation", 6)
    prefixlen = integer(data.get("network_prefixlen", DEFAULT_NETWORK_PREFIXLEN), what + ".network_prefixlen",
                        allocation.prefixlen, 64)
    uplink = mapping(data.get("uplink") or {}, what + ".uplink")
    known_keys(uplink, _UPLINK_KEYS, what + ".uplink")
    if not uplink.get("parent"):
        raise PlanError("%s.uplink.parent: the uplink interface of the gateway is required" % what)
    gateways = {}
    for version in (4, 6):
        key = "ipv%d_gateway" % version
        gateways[version] = str(parse_address(uplink[key], "%s.uplink.%s" % (what, key), version)) \
            if uplink.get(key) else None
    return ExitGateway(
        node=node,
        allocation=allocation,
        network_prefixlen=prefixlen,
        parent=str(uplink["parent"]),
        ipv4_gateway=gateways[4],
        ipv6_gateway=gateways[6],
        metric=integer(uplink.get("metric", 1024), what + ".uplink.metric", 0, 4294967295),
    )


def read_public_keys(nets, hostvars, public_keys):
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
                    "network %r: no public key for node %r; run the keys step on it (the site playbook does; "
                    "before sliced or --limit runs, the gridnet.tenant.keys playbook records every node's "
                    "in the ledger)" % (net.netid, node)
                )
            rules.check_public_key(key, "network %r, node %r" % (net.netid, node))
            if (net.netid, key) in owners:
                raise PlanError(
                    "network %r: nodes %r and %r have the same public key"
                    % (net.netid, owners[(net.netid, key)], node)
                )
            owners[(net.netid, key)] = node
            keys[(net.netid, node)] = key
    return keys
