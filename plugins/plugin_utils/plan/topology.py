# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Topology: which members of a network link directly, how, and who relays the rest.

Two members link directly when one can dial the other (``localvxlan`` when
both sit on the same L2 segment, else ``wireguard``). A pair that cannot (both
behind NAT) still gets a WireGuard link of its own when a relay both reach
speaks an IP version both have: each end dials a UDP port of the relay, which
forwards the datagrams to the other end in the kernel (module_utils/relay.py),
without decrypting them. Only a pair without such an IP version is routed
through the relay at the tenant layer. The relay is the exit when it can be.
The decision depends only on the two underlays' shapes, so it is made once
per pair of shapes and the resulting Link is shared by every pair of those
shapes.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import sparse
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.hosts import MIN_LINK_MTU

# Encapsulation overhead in bytes, by outer IP version (brief: WireGuard 80/60,
# VXLAN 70/50: outer IP + UDP + WireGuard or VXLAN header + inner Ethernet).
WIREGUARD_OVERHEAD = {6: 80, 4: 60}
VXLAN_OVERHEAD = {6: 70, 4: 50}

# How a pair (a, b), a before b in member order, links: a_dials_b says a knows b's endpoint;
# relay: the member whose UDP ports both ends dial instead, when neither can dial the other.
Link = namedtuple("Link", "connection family a_dials_b b_dials_a mtu relay", defaults=(None,))


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
    """The links and relays of one network, decided per pair of underlay shapes.

    A member's links are computed when asked for (row), so a host's slice of a
    full mesh costs O(N), and the whole network O(N + shapes^2), never O(N^2).
    links[x][y]: the Link of a pair whose earlier member (in member order) has
    shape x and the later one shape y, or None when they do not link.
    mtu: the smallest link MTU, the MTU of the network's bridges.
    A sparse or hub-and-spoke network (sparse.py) links each member to some peers only (adjacent),
    never through a relay: its routing daemon finds the paths.
    """

    def __init__(self, net, underlays):
        self.net = net
        self.members = net.members
        self.underlays = underlays
        self.index = {m: i for i, m in enumerate(self.members)}
        self.shape_of = {}
        self.shape_members = []  # shape -> its members, in member order
        seen = {}
        for m in self.members:
            u = underlays[m]
            shape = seen.setdefault((u.ipv6 is not None, u.ipv4 is not None, u.reachable, u.segment, u.mtu, u.link_mtu),
                                    len(seen))
            if shape == len(self.shape_members):
                self.shape_members.append([])
            self.shape_members[shape].append(m)
            self.shape_of[m] = shape
        self.shape_list = [self.shape_of[m] for m in self.members]
        self.links = self._links()
        self._relays = {}  # (shape, shape) -> the member routing between them at the tenant layer
        self.adjacent = None  # {member: the peers it links to} in a sparse network; None: every peer it can
        if net.topology != "full":
            def linkable(a, b):
                return self.pair_link(a, b) is not None
            if net.topology == "hubs":
                self.adjacent = sparse.hub_and_spoke(self.members, underlays, net.hubs, linkable)
            else:
                self.adjacent = sparse.neighbours(net.netid, self.members, underlays, net.degree, linkable)
            sparse.check_two_connected(net.netid, self.adjacent)
        else:
            self._choose_relays()
            self._relay_udp()
        linked = [link for row in self.links for link in row if link is not None]
        self.mtu = min(link.mtu for link in linked) if linked else min(underlays[m].mtu for m in self.members)

    def _links(self):
        shapes = self.shape_members
        links = [[None] * len(shapes) for _unused in shapes]
        for x, xs in enumerate(shapes):
            for y, ys in enumerate(shapes):
                # a pair of these shapes with the shape-x member first, if the members hold one
                if x == y:
                    pair = (xs[0], xs[1]) if len(xs) > 1 else None
                else:
                    first = next((a for a in xs if self.index[a] < self.index[ys[-1]]), None)
                    pair = (first, ys[-1]) if first is not None else None
                if pair is None:
                    continue
                ua, ub = self.underlays[pair[0]], self.underlays[pair[1]]
                link = direct_link(ua, ub)
                if link is not None:
                    links[x][y] = link._replace(mtu=link_mtu(ua, ub, link.connection, link.family))
        return links

    def row(self, node):
        """node's Link with each member, in member order: None for itself and for peers it does not link to.
        A peer before node in member order is the pair's a (node's side 1), a peer after it the b."""
        links, shapes, i = self.links, self.shape_list, self.index[node]
        mine = self.shape_of[node]
        before = [links[x][mine] for x in range(len(links))]
        after = links[mine]
        return [before[x] for x in shapes[:i]] + [None] + [after[x] for x in shapes[i + 1:]]

    def pair_link(self, a, b):
        """The Link a and b would have (whoever comes first in member order), or None."""
        if self.index[a] > self.index[b]:
            a, b = b, a
        return self.links[self.shape_of[a]][self.shape_of[b]]

    def neighbours(self, node):
        """(member index, peer, Link) of every peer node links to, in member order."""
        if self.adjacent is None:
            return ((j, peer, link) for j, (peer, link) in enumerate(zip(self.members, self.row(node)))
                    if link is not None)
        index = self.index
        return ((index[peer], peer, self.pair_link(node, peer)) for peer in sorted(self.adjacent[node], key=index.get))

    def _shapes_linked(self, x, y):
        return self.links[x][y] is not None or self.links[y][x] is not None

    def _choose_relays(self):
        """A relay for each pair of shapes that do not link: the exit when it links to both, else the
        first member (by name) of a shape linking to both. Neither end can be that member: it would
        have to link to a shape its own shape does not link to."""
        shapes = range(len(self.shape_members))
        exit_node = self.net.exit_node
        exit_shape = self.shape_of.get(exit_node)
        for x in shapes:
            for y in shapes:
                if y < x or self._shapes_linked(x, y) or (x == y and len(self.shape_members[x]) < 2):
                    continue
                both = [t for t in shapes if self._shapes_linked(t, x) and self._shapes_linked(t, y)]
                if exit_shape in both:
                    relay = exit_node
                elif both:
                    relay = min(min(self.shape_members[t]) for t in both)
                else:
                    a, b = self._first_pair(x, y)
                    raise PlanError(
                        "network %r: nodes %r and %r cannot reach each other, neither directly "
                        "(both behind NAT or no common IP version) nor through a relay both can reach"
                        % (self.net.netid, a, b)
                    )
                self._relays[(x, y)] = self._relays[(y, x)] = relay

    def _relay_udp(self):
        """Turn each relayed pair of shapes into a WireGuard link through its relay's UDP ports when the
        relay and both shapes have an IP version in common (IPv6 preferred)."""
        for (x, y), relay in list(self._relays.items()):
            if y < x:
                continue
            ua, ub = (self.underlays[self.shape_members[s][0]] for s in (x, y))
            ur = self.underlays[relay]
            family = next((f for f in (6, 4) if all(underlay_address(u, f) for u in (ua, ub, ur))), None)
            if family is None:
                continue  # e.g. IPv4-only to IPv6-only: routed through the relay, which speaks both
            mtu = min(link_mtu(ua, ub, "wireguard", family), ur.mtu - WIREGUARD_OVERHEAD[family])
            if mtu < MIN_LINK_MTU:
                raise PlanError("relay %s: its underlay MTU %d leaves relayed links an MTU of %d, below the IPv6 "
                                "minimum %d" % (relay, ur.mtu, mtu, MIN_LINK_MTU))
            link = Link("wireguard", family, True, True, mtu, relay)
            # a pair's Link is read by its earlier member's shape first: both orders are set
            self.links[x][y] = self.links[y][x] = link
            del self._relays[(x, y)]
            self._relays.pop((y, x), None)

    def relayed_pairs(self):
        """(a, b, Link) of every pair linked through a relay's UDP ports, a before b in member order."""
        relayed = {(x, y) for x, row in enumerate(self.links) for y, link in enumerate(row)
                   if link is not None and link.relay is not None}
        shapes = {s for pair in relayed for s in pair}
        members = [m for m in self.members if self.shape_of[m] in shapes]  # only the shapes concerned: O(pairs)
        for i, a in enumerate(members):
            row = self.links[self.shape_of[a]]
            for b in members[i + 1:]:
                if (self.shape_of[a], self.shape_of[b]) in relayed:
                    yield a, b, row[self.shape_of[b]]

    def _first_pair(self, x, y):
        """The first pair in member order with shapes x and y (either way round), as the error names it."""
        for i, a in enumerate(self.members):
            for b in self.members[i + 1:]:
                if {self.shape_of[a], self.shape_of[b]} == {x, y}:
                    return a, b
        raise AssertionError("no pair of shapes %d and %d" % (x, y))

    @property
    def complete(self):
        """Every pair links directly: no relays at all."""
        return not self._relays

    def relay(self, a, b):
        return self._relays[(self.shape_of[a], self.shape_of[b])]
