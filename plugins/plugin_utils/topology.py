# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Topology: which members of a network link directly, how, and who relays the rest.

Two members link directly when one can dial the other (``localvxlan`` when
both sit on the same L2 segment, else ``wireguard``); a pair that cannot is
routed through a relay both reach, the exit when it can. The decision depends
only on the two underlays' shapes, so it is made once per pair of shapes and
the resulting Link is shared by every pair of those shapes.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.hosts import MIN_LINK_MTU

# Encapsulation overhead in bytes, by outer IP version (brief: WireGuard 80/60,
# VXLAN 70/50: outer IP + UDP + WireGuard or VXLAN header + inner Ethernet).
WIREGUARD_OVERHEAD = {6: 80, 4: 60}
VXLAN_OVERHEAD = {6: 70, 4: 50}

# How a pair (a, b), a before b in member order, links: a_dials_b says a knows b's endpoint.
Link = namedtuple("Link", "connection family a_dials_b b_dials_a mtu")


def underlay_address(underlay, family):
    return underlay.ipv6 if family == 6 else underlay.ipv4


def direct_link(a, b):
    """How two nodes' network resources connect directly: a Link without its MTU, or None.

    A node dials a peer when the peer is reachable on a family both have; a
    node behind NAT is never dialled.
    """
    if a.segment is not None and a.segment == b.segment:
        for family in (6, 4):
            if underlay_address(a, family) and underlay_address(b, family):
                return Link("localvxlan", family, True, True, None)
    for family in (6, 4):
        if underlay_address(a, family) and underlay_address(b, family):
            if b.reachable or a.reachable:
                return Link("wireguard", family, b.reachable, a.reachable, None)
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


class Topology(object):
    """The links and relays of one network.

    adjacency: node -> [(peer, link, ports, side)] in member order; side is 0
    when node is the pair's a. ports ([a's listen port, b's]) is shared by both
    ends and filled in by allocation.assign_ports.
    relays: (a, b) with a < b -> the node relaying their traffic.
    mtu: the smallest link MTU, the MTU of the network's bridges.
    """

    def __init__(self, net, underlays):
        self.net = net
        self.members = net.members
        self.underlays = underlays
        self.adjacency = {m: [] for m in self.members}
        self.relays = {}
        self.mtu = None
        self._connect()

    def _connect(self):
        members, underlays, adjacency = self.members, self.underlays, self.adjacency
        shape_of, shapes = {}, {}
        for m in members:
            u = underlays[m]
            shape_of[m] = shapes.setdefault(
                (u.ipv6 is not None, u.ipv4 is not None, u.reachable, u.segment, u.mtu, u.link_mtu), len(shapes))
        decided = {}
        count = 0
        mtu = None
        for i, a in enumerate(members):
            ua, sa, adjacency_a = underlays[a], shape_of[a], adjacency[a]
            for b in members[i + 1:]:
                key = (sa, shape_of[b])
                if key in decided:
                    link = decided[key]
                else:
                    ub = underlays[b]
                    link = direct_link(ua, ub)
                    if link is not None:
                        link = link._replace(mtu=link_mtu(ua, ub, link.connection, link.family))
                    decided[key] = link
                if link is not None:
                    ports = [None, None]
                    count += 1
                    if mtu is None or link.mtu < mtu:
                        mtu = link.mtu
                    adjacency_a.append((b, link, ports, 0))
                    adjacency[b].append((a, link, ports, 1))
        self.mtu = mtu if count else min(underlays[m].mtu for m in members)
        if count < len(members) * (len(members) - 1) // 2:
            self._choose_relays()

    def _choose_relays(self):
        members = self.members
        peer_sets = {m: {entry[0] for entry in linked} for m, linked in self.adjacency.items()}
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

    def relay(self, a, b):
        return self.relays[(a, b) if a < b else (b, a)]
