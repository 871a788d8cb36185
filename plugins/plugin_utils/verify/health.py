# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health view: every node's raw figures (network_resource_info's `health`) judged, without a probe.

A link (one end of it, as one node sees it) is
  down   when its interface is missing or not up, or, with Babel, when babeld
         has no neighbour on it or counts the neighbour unreachable;
  stale  when it is WireGuard and its last handshake is older than the
         threshold (never, or THRESHOLD s ago by default: WireGuard rejects a
         session's keys 180 s after its handshake, and a link that carries
         anything, Babel's hellos or keepalives, shakes hands every 120 s);
  idle   instead of stale when nothing is bound to cross it: routing static
         and no keepalive at either end (a network's `keepalive` option) -
         WireGuard shakes hands only to send, so nothing tells such a link
         alive or dead without a probe;
  up     otherwise.
A link to an access peer (a person's device, which dials when its owner wants) is never stale, only idle
when it has not shaken hands within the threshold, and down when its interface is missing or down.
A route through a link that is down or stale is a problem too: traffic to its
destination is lost. The verdict fails on any link down or stale and on any
such route, naming them; idle links are shown and counted, not failed.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.access import PORT_KEY as ACCESS_PEER

THRESHOLD = 180  # seconds: WireGuard's REJECT_AFTER_TIME
STATES = ("up", "idle", "stale", "down")  # in order of worse
FAILING = ("stale", "down")
INFINITY = 0xFFFF  # babeld's cost of an unreachable neighbour


def link_state(link, babel_running, now, threshold=THRESHOLD, kept_alive=True):
    """(state, why) of one end of a link. kept_alive: a keepalive crosses it (set at either end)."""
    if not link.get("present"):
        return "down", "its interface %s is missing" % link["interface"]
    if not link.get("up"):
        return "down", "its interface %s is down" % link["interface"]
    if babel_running is not None:
        neighbour = link.get("babel")
        if neighbour is None:
            return "down", "babeld has no neighbour on it" if babel_running else "babeld is not running"
        if int(neighbour.get("reach") or "0", 16) == 0:
            return "down", "babeld hears no hello on it (reach 0000)"
        if neighbour.get("cost") is None or neighbour["cost"] >= INFINITY:
            return "down", "babeld counts the neighbour unreachable (cost 65535, reach %s)" % neighbour.get("reach")
    if link["connection"] == "wireguard":
        stale = "stale" if babel_running is not None or kept_alive else "idle"
        if not link.get("last_handshake"):
            return stale, "no handshake ever"
        age = now - link["last_handshake"]
        if age > threshold:
            return stale, "last handshake %d s ago (threshold %d s)" % (age, threshold)
    return "up", ""


def judge(figures, threshold=THRESHOLD):
    """figures: {host: [resource figures]} -> {"ok", "links": [rows], "problems": [texts], "exits": [rows],
    "babel_routes": {network: {host: routes babeld installed}}}. A row is one link end: network, node, peer,
    interface, connection, state, why, handshake age, bytes, Babel's reach and cost, routes through it."""
    rows, problems, exits = [], [], []
    keepalive = {(r["network"], host, peer): link.get("keepalive") or 0
                 for host in figures for r in figures[host] or [] for peer, link in r["links"].items()}
    for host in sorted(figures):
        for resource in sorted(figures[host] or [], key=lambda r: r["network"]):
            babel = resource.get("babel")
            running = None if babel is None else bool(babel.get("running"))
            for peer, link in sorted(resource["links"].items()):
                kept_alive = keepalive[(resource["network"], host, peer)] or keepalive.get(
                    (resource["network"], peer, host), 0)
                if peer.startswith(ACCESS_PEER):  # a person's device dials when its owner wants: idle, never stale
                    state, why = link_state(link, None, resource["time"], threshold, False)
                else:
                    state, why = link_state(link, running, resource["time"], threshold, kept_alive)
                handshake = link.get("last_handshake")
                row = {"network": resource["network"], "node": host, "peer": peer, "interface": link["interface"],
                       "connection": link["connection"], "state": state, "why": why,
                       "handshake_age": resource["time"] - handshake if handshake else None,
                       "rx_bytes": link.get("rx_bytes"), "tx_bytes": link.get("tx_bytes"),
                       "reach": (link.get("babel") or {}).get("reach"), "cost": (link.get("babel") or {}).get("cost"),
                       "routes": list(link.get("routes") or [])}
                rows.append(row)
                if state in FAILING:
                    problems.append("%s: link %s -> %s (%s) is %s: %s" % (
                        row["network"], host, peer, link["interface"], state, why))
                    if row["routes"]:
                        problems.append("%s: %s routes %s through %s over that %s link" % (
                            row["network"], host, ", ".join(row["routes"]), peer, state))
            if resource.get("exit"):
                exits.append({"network": resource["network"], "node": host, "counters": resource["exit"]})
    babel_routes = {}
    for host in sorted(figures):
        for resource in figures[host] or []:
            if resource.get("babel") is not None:
                babel_routes.setdefault(resource["network"], {})[host] = resource["babel"].get("routes_installed", 0)
    return {"ok": not problems, "links": rows, "problems": problems, "exits": exits, "babel_routes": babel_routes}


def _bytes(value):
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return str(value)


def lines(judged, threshold=THRESHOLD):
    """The health view as text: a table per network, the exits' counters, then the problems."""
    out = []
    for network in sorted({r["network"] for r in judged["links"]}):
        out.append("network %s: each link as each end sees it (handshake threshold %d s)" % (network, threshold))
        out.append("  %-8s %-8s %-14s %-10s %-6s %9s %10s %10s %5s %5s %s" % (
            "node", "peer", "interface", "kind", "state", "handshake", "received", "sent", "reach", "cost", "routes"))
        for row in judged["links"]:
            if row["network"] != network:
                continue
            age = "-" if row["handshake_age"] is None else "%d s" % row["handshake_age"]
            out.append("  %-8s %-8s %-14s %-10s %-6s %9s %10s %10s %5s %5s %d" % (
                row["node"], row["peer"], row["interface"], row["connection"], row["state"], age,
                _bytes(row["rx_bytes"]), _bytes(row["tx_bytes"]), row["reach"] or "-",
                "-" if row["cost"] is None else row["cost"], len(row["routes"])))
        installed = judged["babel_routes"].get(network)
        if installed:
            out.append("  routes babeld installed: %s" % ", ".join("%s %d" % item for item in sorted(installed.items())))
        for entry in judged["exits"]:
            if entry["network"] == network:
                out.append("  exit %s: %s" % (entry["node"], ", ".join(
                    "%s %d packets" % (name, figures["packets"]) for name, figures in sorted(entry["counters"].items()))))
    bad = len(judged["problems"])
    idle = sum(1 for row in judged["links"] if row["state"] == "idle")
    summary = "%d link ends, " % len(judged["links"])
    summary += "all up" if not bad and not idle else "%d problems" % bad
    if idle:
        summary += ", %d idle (routing static, no keepalive: nothing tells them alive or dead)" % idle
    out.append(summary + (":" if bad else ""))
    out += ["  " + text for text in judged["problems"]]
    return out
