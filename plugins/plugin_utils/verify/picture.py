# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan as a picture (SVG): nodes, network resources, link types, exits, relays; and the health view as one.

Nodes sit on a circle. Each network has a colour; each link of a network is a
line in that colour (solid: WireGuard, dashed: VXLAN), a little apart from the
other networks' lines between the same two nodes. Pairs with no direct link
are listed with their relay. A node behind NAT has a dashed outline; an exit
has a thick one and a box towards the internet.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify.health import STATES

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT = 900, 780
CENTRE_X, CENTRE_Y, RADIUS = 370, 330, 230


def _positions(nodes):
    count = max(len(nodes), 1)
    return {node: (CENTRE_X + RADIUS * math.cos(2 * math.pi * i / count - math.pi / 2),
                   CENTRE_Y + RADIUS * math.sin(2 * math.pi * i / count - math.pi / 2))
            for i, node in enumerate(nodes)}


def _text(x, y, text, size=13, anchor="middle", weight="normal", colour="#222"):
    return ('<text x="%.1f" y="%.1f" font-family="sans-serif" font-size="%d" text-anchor="%s" '
            'font-weight="%s" fill="%s">%s</text>' % (x, y, size, anchor, weight, colour, escape(text)))


def _start(title):
    """The opening of a picture: the SVG element, a white page, the title."""
    return ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'
            % (WIDTH, HEIGHT, WIDTH, HEIGHT),
            '<rect width="100%" height="100%" fill="white"/>', _text(20, 30, title, 18, "start", "bold")]


def _ends(at, a, b, index, count):
    """(x1, y1, x2, y2) of the line between nodes a and b for the index-th of count networks: moved sideways,
    so the networks' lines between the same two nodes lie apart."""
    offset = (index - (count - 1) / 2.0) * 6
    (x1, y1), (x2, y2) = at[a], at[b]
    length = math.hypot(x2 - x1, y2 - y1) or 1
    dx, dy = -(y2 - y1) / length * offset, (x2 - x1) / length * offset
    return x1 + dx, y1 + dy, x2 + dx, y2 + dy


def mesh_svg(plan, title="gridnet.tenant mesh"):
    nodes = sorted(plan["nodes"])
    at = _positions(nodes)
    netids = sorted({r["netid"] for state in plan["nodes"].values() for r in state["resources"]})
    colour = {netid: COLOURS[i % len(COLOURS)] for i, netid in enumerate(netids)}
    exits = {e["netid"]: e for e in plan.get("exits", [])}
    out = _start(title)

    # links: one line per linked pair and network, offset per network
    for n_index, netid in enumerate(netids):
        drawn = set()
        for node in nodes:
            for resource in plan["nodes"][node]["resources"]:
                if resource["netid"] != netid:
                    continue
                for link in resource["connected"]:
                    pair = tuple(sorted((node, link["peer"])))
                    if pair in drawn or link.get("access"):  # an access peer is no node of the picture
                        continue
                    drawn.add(pair)
                    dash = ' stroke-dasharray="8,5"' if link["connection"] == "localvxlan" else ""
                    out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s>'
                               '<title>%s: %s %s-%s, MTU %d</title></line>'
                               % (_ends(at, pair[0], pair[1], n_index, len(netids)) + (colour[netid], dash, escape(netid),
                                  link["connection"], pair[0], pair[1], link["mtu"])))

    # nodes: a circle with the node's name and its resources' prefixes
    for node in nodes:
        x, y = at[node]
        resources = plan["nodes"][node]["resources"]
        hidden = any(r["persistent_keepalive"] for r in resources)
        is_exit = any(r["is_exit"] for r in resources)
        out.append('<circle cx="%.1f" cy="%.1f" r="30" fill="#f7f7f7" stroke="#333" stroke-width="%d"%s/>'
                   % (x, y, 4 if is_exit else 1.5, ' stroke-dasharray="4,3"' if hidden else ""))
        out.append(_text(x, y + 5, node, 13, weight="bold"))
        label_y = y + 48 if y >= CENTRE_Y else y - 40 - 14 * (len(resources) - 1)
        for i, resource in enumerate(sorted(resources, key=lambda r: r["netid"])):
            out.append(_text(x, label_y + 14 * i, "%s %s" % (resource["netid"], resource["prefix"]), 10,
                             colour=colour[resource["netid"]]))
        if hidden:
            out.append(_text(x, y - 36 if y >= CENTRE_Y else y + 44, "behind NAT", 10, colour="#666"))

    # exits: a box for the internet beside each exit node
    for n_index, netid in enumerate(netids):
        exit_plan = exits.get(netid)
        if not exit_plan or exit_plan["node"] not in at:
            continue
        x, y = at[exit_plan["node"]]
        bx, by = WIDTH - 170, 80 + 70 * n_index
        out.append('<line x1="%.1f" y1="%.1f" x2="%d" y2="%d" stroke="%s" stroke-width="1.5" stroke-dasharray="2,3"/>'
                   % (x, y, bx, by + 20, colour[netid]))
        out.append('<rect x="%d" y="%d" width="160" height="44" rx="6" fill="white" stroke="%s"/>'
                   % (bx, by, colour[netid]))
        out.append(_text(bx + 80, by + 17, "%s exit: %s" % (netid, exit_plan["node"]), 11, colour=colour[netid]))
        out.append(_text(bx + 80, by + 33, exit_plan["gateway_address"], 10))

    # legend and relays
    y = HEIGHT - 20 - 16 * (len(netids) + 2)
    out.append(_text(20, y, "solid: WireGuard, dashed: VXLAN (shared L2), thick: exit, dashed outline: behind NAT",
                     11, "start"))
    for netid in netids:
        y += 16
        relays = _relays(plan, netid)
        out.append(_text(20, y, "%s%s" % (netid, ("  relayed: " + "; ".join(relays)) if relays else ""), 11,
                         "start", colour=colour[netid]))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _relays(plan, netid):
    """'a-b via c' for each pair of a network's nodes routed through c, and "a-b through c's UDP relay" for
    each pair whose link c's kernel relays."""
    linked, members, via, udp = set(), [], {}, set()
    for node, state in plan["nodes"].items():
        for resource in state["resources"]:
            if resource["netid"] != netid:
                continue
            members.append(node)
            interface_peer = {c["interface"]: c["peer"] for c in resource["connected"]}
            for link in resource["connected"]:
                if link.get("access"):
                    continue
                linked.add(tuple(sorted((node, link["peer"]))))
                if link.get("relay") and node < link["peer"]:
                    udp.add((node, link["peer"], link["relay"]))
            for route in resource["routes"]:
                if route["dst"] in ("::/0", "0.0.0.0/0"):
                    continue
                via[(node, route["dst"])] = interface_peer.get(route["interface"], "?")
    prefixes = {}
    for node, state in plan["nodes"].items():
        for resource in state["resources"]:
            if resource["netid"] == netid:
                prefixes[resource["prefix"]] = node
    result = ["%s-%s through %s's UDP relay" % (node, peer, relay) for node, peer, relay in sorted(udp)]
    for (node, dst), hop in sorted(via.items()):
        other = prefixes.get(dst)
        if other and node < other and tuple(sorted((node, other))) not in linked:
            result.append("%s-%s via %s" % (node, other, hop))
    return result


STATE_COLOURS = {"up": "#2ca02c", "idle": "#999999", "stale": "#ff7f0e", "down": "#d62728"}


def health_svg(judged, title="gridnet.tenant health"):
    """The health view (health.judge) as a picture: each link a line coloured by its worse end's state (green up,
    grey idle, orange stale handshake, red down), a little apart per network; each node with the routes its babelds
    installed; exits drawn thick."""
    nodes = sorted({r["node"] for r in judged["links"]} | {r["peer"] for r in judged["links"]})
    at = _positions(nodes)
    networks = sorted({r["network"] for r in judged["links"]})
    worst = {}
    for row in judged["links"]:
        key = (row["network"],) + tuple(sorted((row["node"], row["peer"])))
        have = worst.get(key, ("up", []))
        state = max(have[0], row["state"], key=STATES.index)
        worst[key] = (state, have[1] + ["%s: %s" % (row["node"], row["why"] or row["state"])])
    out = _start(title)
    for (network, a, b), (state, why) in sorted(worst.items()):
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%d">'
                   '<title>%s %s-%s: %s (%s)</title></line>'
                   % (_ends(at, a, b, networks.index(network), len(networks))
                      + (STATE_COLOURS[state], 2 if state in ("up", "idle") else 4,
                         escape(network), a, b, state, escape("; ".join(why)))))
    exit_nodes = {e["node"] for e in judged["exits"]}
    for node in nodes:
        x, y = at[node]
        out.append('<circle cx="%.1f" cy="%.1f" r="30" fill="#f7f7f7" stroke="#333" stroke-width="%d"/>'
                   % (x, y, 4 if node in exit_nodes else 1.5))
        out.append(_text(x, y + 5, node, 13, weight="bold"))
        routes = ["%s %d routes" % (network, per[node]) for network, per in sorted(judged["babel_routes"].items())
                  if node in per]
        label_y = y + 48 if y >= CENTRE_Y else y - 40 - 14 * (len(routes) - 1)
        for i, text in enumerate(routes):
            out.append(_text(x, label_y + 14 * i, text, 10))
    out.append(_text(20, HEIGHT - 40, "green: up, grey: idle, orange: stale handshake, red: down (the worse of its ends); "
                     "thick circle: exit; routes: installed by babeld", 11, "start"))
    out.append(_text(20, HEIGHT - 20, "%d problems" % len(judged["problems"]) if judged["problems"] else "all up",
                     12, "start", "bold", STATE_COLOURS["down" if judged["problems"] else "up"]))
    out.append("</svg>")
    return "\n".join(out) + "\n"
