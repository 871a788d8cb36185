# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deterministic names and numbers: pure functions of their inputs.

Every value here is derived from SHA-256 of its inputs, never from Python's
``hash()`` (salted per process) or from the order of hosts in a play, so the
same inventory gives the same names on every run and every controller.
See docs/naming.md for the scheme.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re

from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import WIREGUARD_PREFIX, names_for_tag
from ansible_collections.gridnet.tenant.plugins.module_utils.common.rules import IFNAME_MAX, check_ifname
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError

TAG_LENGTH = 6
TAG_MAX = IFNAME_MAX - 4  # longest user tag that still fits "gtb-" + tag in 15 characters
_TAG_RE = re.compile(r"^[a-z0-9]+$")
VNI_MAX = (1 << 24) - 1


def digest(*parts):
    """SHA-256 of the parts, joined by a separator no part is expected to hold."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()


def digest_int(*parts):
    return int.from_bytes(digest(*parts)[:8], "big")


def short_hash(*parts, length=TAG_LENGTH):
    """Lower-case base32 (a-z, 2-7) of the digest: safe in interface names."""
    return base64.b32encode(digest(*parts)).decode("ascii").lower()[:length]


def net_tag(netid, tag=None):
    """The short per-network tag used inside every name of that network."""
    if tag is None:
        return short_hash("net", netid)
    tag = str(tag)
    if not _TAG_RE.match(tag) or len(tag) > TAG_MAX:
        raise PlanError(
            "network %r: tag %r must be 1-%d characters of a-z and 0-9 "
            "(it becomes part of 15-character interface names)" % (netid, tag, TAG_MAX)
        )
    return tag


def resource_names(tag):
    """Names of the per-network objects on a node, all within 15 characters.

    namespace  network namespace of the network resource
    bridge     bridge in the node's own namespace, where workloads attach
    veth_host  veth end enslaved to that bridge
    veth_ns    veth end inside the namespace, holding the gateway addresses
    vxlan      the network's VXLAN device (one per network resource)
    uplink     the exit's uplink interface inside the namespace
    workload   the verify playbook's workload namespace (and its veth on the bridge)
    """
    names = names_for_tag(tag)
    for kind, name in names.items():
        check_ifname(name, "network tag %r (%s)" % (tag, kind))
    return names


def wireguard_ifname(peer_public_key):
    """Name of the point-to-point WireGuard link towards the holder of this key."""
    return WIREGUARD_PREFIX + short_hash("wg", peer_public_key, length=10)


def router_id_prefix(netid, node):
    """The first six octets of the Babel router-id of node's resource in this network (a modified EUI-64,
    locally administered); the node adds two, babeld's incarnation (module_utils/babel.py)."""
    octets = bytearray(digest("router-id", netid, node)[:6])
    octets[0] = (octets[0] & 0xFC) | 0x02  # unicast, local
    return ":".join("%02x" % o for o in octets)


def link_local(netid, node):
    """The node's fe80::/64 address in this network, used on all its links.

    Link-local addresses only need to be unique per link; one address per node
    and network keeps every peer's route gateway predictable.
    """
    iid = digest("ll", netid, node)[:8]
    groups = [iid[i:i + 2].hex() for i in range(0, 8, 2)]
    # Clear the universal/local bit (RFC 4291 modified EUI-64: 0 = local).
    groups[0] = "%04x" % (int(groups[0], 16) & 0xFDFF)
    # canonical text (RFC 5952), as the kernel's addresses read back: a zero first group compresses away
    return str(ipaddress.IPv6Address("fe80::" + ":".join(groups)))


def stable_mac(*parts):
    """A stable, locally administered unicast MAC: neighbour caches stay valid when a link is recreated."""
    raw = bytearray(digest("mac", *parts)[:6])
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ":".join("%02x" % b for b in raw)


def uplink_mac(netid, node):
    """The MAC of an exit's uplink: the upstream router's neighbour entry survives a re-creation."""
    return stable_mac(netid, node)


def resource_macs(netid, node, vxlan):
    """The MACs of a network resource's Ethernet devices on a node (bridge, veth ends, VXLAN)."""
    kinds = ("bridge", "veth_host", "veth_ns", "vxlan") if vxlan else ("bridge", "veth_host", "veth_ns")
    return {kind: stable_mac(netid, node, kind) for kind in kinds}


def exit_table(tag):
    """The nftables table (family inet) holding one network's NAT and firewall on its exit."""
    return "gt_exit_" + tag


def preferred_slot(size, *parts):
    """Where a value would go if nothing else were there: stable across additions."""
    return digest_int(*parts) % size
