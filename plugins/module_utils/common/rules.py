# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules both sides enforce: the planner on the controller and the modules on the node.

Written once, with the standard library only (nodes have no netaddr), and
called by both: interface names, key format, uplink addressing, port
forwards, the IPv6 allow-list, and the route protocol numbers that say which
routes are ours. Each check raises InputError naming `what` it was given.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError

IFNAME_MAX = 15  # IFNAMSIZ - 1 (the kernel keeps a trailing NUL)
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
KEY_BYTES = 32
# Routes this collection owns carry these protocol numbers (rt_protos), so nothing else is touched.
ROUTE_PROTO = 152       # mesh routes in a resource's namespace, and the upstream router's routes
EXIT_ROUTE_PROTO = 153  # an exit's default routes: apart from 152, so the resource never removes them


def check_ifname(name, what):
    if len(name) > IFNAME_MAX:
        raise InputError("%s: interface name %r is %d characters, longer than the kernel's %d characters"
                         % (what, name, len(name), IFNAME_MAX))
    if not _IFNAME_RE.match(name):
        raise InputError("%s: interface name %r has characters the kernel refuses" % (what, name))
    return name


def decode_key(key, what="key"):
    """The 32 raw bytes of a base64 WireGuard key (public or private)."""
    if not isinstance(key, str):
        raise InputError("%s must be a string, got %s" % (what, type(key).__name__))
    try:
        raw = base64.b64decode(key.strip().encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InputError("%s not valid base64" % what)
    if len(raw) != KEY_BYTES:
        raise InputError("%s decodes to %d bytes, WireGuard keys are %d" % (what, len(raw), KEY_BYTES))
    return raw


def check_public_key(key, what):
    decode_key(key, "%s: public key %r" % (what, key) if isinstance(key, str) else "%s: public key" % what)
    return key


def prefix(value, what, version=None):
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise InputError("%s: %r is not a prefix (%s)" % (what, value, exc))
    if version and network.version != version:
        raise InputError("%s: %s is not IPv%d" % (what, value, version))
    return network


def uplink_address(address, gateway, version, what):
    """An uplink's address/len; its gateway, when given, must be on the same subnet."""
    try:
        interface = ipaddress.ip_interface(str(address))
    except ValueError as exc:
        raise InputError("%s: %r is not address/len (%s)" % (what, address, exc))
    if interface.version != version:
        raise InputError("%s: %s is not IPv%d" % (what, address, version))
    if gateway is not None and ipaddress.ip_address(str(gateway)) not in interface.network:
        raise InputError("%s: gateway %s is not on the uplink subnet %s" % (what, gateway, interface.network))
    return interface


def dnat_target(target, subnets, what):
    """A port forward goes to an address inside one of the network's IPv4 subnets."""
    address = ipaddress.ip_address(str(target))
    if not any(address in ipaddress.ip_network(str(s)) for s in subnets):
        raise InputError("%s: %s is outside the network's IPv4 subnets" % (what, address))
    return address


def allow_entry(entry, block, earlier, what):
    """An ipv6_allow entry {prefix, proto, port}: inside the block, overlapping no earlier entry.

    Two entries overlap when their protocols match, their ports match (a missing
    port is every port) and one prefix holds the other. Returns the entry's prefix.
    """
    network = prefix(entry["prefix"], what, 6)
    if not network.subnet_of(block):
        raise InputError("%s: %s is outside the network's block %s" % (what, network, block))
    for other_label, other in earlier:
        other_net = ipaddress.ip_network(other["prefix"])
        if other["proto"] == entry["proto"] \
                and (other.get("port") is None or entry.get("port") is None or other["port"] == entry["port"]) \
                and (network.subnet_of(other_net) or other_net.subnet_of(network)):
            raise InputError("%s overlaps %s (%s %s port %s)"
                             % (what, other_label, other["prefix"], other["proto"], other.get("port")))
    return network


def check_allow_list(entries, block, what=""):
    """Every entry of an allow-list, in order (see allow_entry); `what` prefixes the messages."""
    block = prefix(block, what + "block", 6)
    earlier = []
    for position, entry in enumerate(entries):
        label = "ipv6_allow[%d]" % position
        allow_entry(entry, block, earlier, what + label)
        earlier.append((label, entry))
