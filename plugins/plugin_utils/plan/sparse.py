# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Partial meshes: which members of a sparse or hub-and-spoke network link.

Members that can be dialled sit on a ring, ordered by a hash of (network,
member); each links to the next degree/2 of them it can link to, so each has
degree ring links. A ring of degree >= 2 is 2-connected: no single link or
member cut it. A member behind NAT (nobody can dial it) is put into a ring link
after its own place, a - hidden - b instead of a - b: it gets two links, a and
b keep their count, and the graph stays 2-connected. Only when no ring link is
left for it does it link to the next max(2, degree/2) dialable members on top
of their own. Members of one L2 segment all stay neighbours (their VXLAN
device is one anyway).

In a hub-and-spoke network every member links to every hub (and the hubs to
each other): two or more hubs, so that losing one leaves every spoke linked.

In a sparse mesh, the places never move: adding a member changes the links of
the degree/2 members before it and the degree/2 after it, and of a member behind NAT put
into a ring link it replaces; nothing is renumbered. The cost is O(N log N + N*degree).
check_two_connected() verifies the result, so a network whose underlays
cannot make it (say, only one member reachable from the others) is refused
by the plan, not discovered at the first outage.
"""

from __future__ import annotations

import bisect

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import digest_int

SCAN = 4  # how many ring places per wanted link a member looks at for peers it can link to


def ring_place(netid, member):
    return digest_int("ring", netid, member)


def neighbours(netid, members, underlays, degree, linkable):
    """{member: set of members it links to}; linkable(a, b) says whether a and b can link directly."""
    adjacent = {m: set() for m in members}

    def join(a, b):
        adjacent[a].add(b)
        adjacent[b].add(a)

    place = {m: ring_place(netid, m) for m in members}
    ring = sorted((m for m in members if underlays[m].reachable), key=lambda m: (place[m], m))
    half = degree // 2
    first = {}  # member -> the first ring link it made: the links a member behind NAT may be put into
    for i, a in enumerate(ring):
        found = _successors(ring, i + 1, half, a, linkable, join)
        if found:
            first[a] = found[0]
    keys = [(place[m], m) for m in ring]
    taken = set()
    for hidden in sorted(m for m in members if not underlays[m].reachable):
        start = bisect.bisect(keys, (place[hidden], hidden))
        if not _subdivide(ring, start, hidden, first, taken, underlays, linkable, adjacent):
            _successors(ring, start, max(2, half), hidden, linkable, join)  # every ring link taken: on top
    _segment_neighbours(members, underlays, linkable, adjacent)
    return adjacent


def _subdivide(ring, start, hidden, first, taken, underlays, linkable, adjacent):
    """Put `hidden` into the first free ring link a - b from its place on whose ends it can link to: a - hidden - b
    instead of a - b. Nobody's link count changes, and a link replaced by a path of two keeps the graph
    2-connected. False when no link is left."""
    for step in range(len(ring)):
        a = ring[(start - 1 + step) % len(ring)]
        b = first.get(a)
        pair = frozenset((a, b))
        if b is None or pair in taken or b not in adjacent[a] or not (linkable(hidden, a) and linkable(hidden, b)):
            continue
        if underlays[a].segment is not None and underlays[a].segment == underlays[b].segment:
            continue  # segment neighbours stay neighbours
        taken.add(pair)
        adjacent[a].discard(b)
        adjacent[b].discard(a)
        for end in (a, b):
            adjacent[end].add(hidden)
            adjacent[hidden].add(end)
        return True
    return False


def hub_and_spoke(members, underlays, hubs, linkable):
    """{member: set of members it links to}: every hub to every other hub and every spoke to every hub it can
    link to; members of one L2 segment to each other, as in a sparse mesh."""
    adjacent = {m: set() for m in members}
    hub_set = set(hubs)
    for a in members:
        for b in hubs:
            if a != b and (a not in hub_set or a < b) and linkable(a, b):
                adjacent[a].add(b)
                adjacent[b].add(a)
    _segment_neighbours(members, underlays, linkable, adjacent)
    return adjacent


def _segment_neighbours(members, underlays, linkable, adjacent):
    segments = {}
    for m in members:
        if underlays[m].segment is not None:
            segments.setdefault(underlays[m].segment, []).append(m)
    for group in segments.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if linkable(a, b):
                    adjacent[a].add(b)
                    adjacent[b].add(a)


def _successors(ring, start, wanted, member, linkable, join):
    """Link member to the first `wanted` members of the ring from `start` on that it can link to; returns them."""
    found = []
    for step in range(min(len(ring), SCAN * wanted + 1)):
        peer = ring[(start + step) % len(ring)]
        if peer == member or peer in found:
            continue
        if linkable(member, peer):
            join(member, peer)
            found.append(peer)
            if len(found) == wanted:
                break
    return found


def check_two_connected(netid, adjacent):
    """Refuse a graph that one link or one member can cut (Tarjan's articulation points, iteratively)."""
    nodes = sorted(adjacent)
    if len(nodes) < 3:
        if len(nodes) == 2 and not adjacent[nodes[0]]:
            raise PlanError("network %r: members %r and %r cannot link" % (netid, nodes[0], nodes[1]))
        return
    order, low, cut = {}, {}, set()
    root = nodes[0]
    order[root] = low[root] = 0
    stack = [(root, None, iter(sorted(adjacent[root])))]
    root_children = 0
    while stack:
        node, parent, peers = stack[-1]
        advanced = False
        for peer in peers:
            if peer == parent:
                continue
            if peer in order:
                low[node] = min(low[node], order[peer])
                continue
            order[peer] = low[peer] = len(order)
            if node == root:
                root_children += 1
            stack.append((peer, node, iter(sorted(adjacent[peer]))))
            advanced = True
            break
        if advanced:
            continue
        stack.pop()
        if parent is not None:
            low[parent] = min(low[parent], low[node])
            if parent != root and low[node] >= order[parent]:
                cut.add(parent)
    if len(order) < len(nodes):
        alone = sorted(set(nodes) - set(order))
        raise PlanError("network %r: the sparse mesh leaves %s unconnected: no member it can link to (check the "
                        "underlays: IP versions, reachable)" % (netid, ", ".join(alone[:5])))
    if root_children > 1:
        cut.add(root)
    if cut:
        raise PlanError("network %r: in the sparse mesh, losing %s would cut the network in two; it needs more "
                        "members that others can dial, or a larger degree" % (netid, sorted(cut)[0]))
