# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation ledger as a table: what `ledger state=show` and --diff print."""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.access import PORT_KEY as ACCESS_PORT_KEY


def rows(ledger):
    """The ledger as table rows: network, node, prefix, IPv4 subnet, ports, state."""
    table = []
    for netid, net in sorted(ledger["networks"].items()):
        table.append({"network": netid, "node": "-", "prefix": net.get("block"), "ipv4": "-",
                      "ports": "vni %s" % net.get("vni"), "state": net.get("state", "active")})
        for node, resource in sorted(net["resources"].items()):
            ports = sorted((ledger["ports"].get(node) or {}).get(netid, {}).values())
            table.append({"network": netid, "node": node, "prefix": resource.get("prefix"),
                          "ipv4": resource.get("ipv4") or "-", "ports": ",".join(str(p) for p in ports) or "-",
                          "state": resource.get("state", "active")})
        for name, peer in sorted((net.get("access") or {}).items()):  # host numbers in the @access /64 and /24
            port = ((ledger["ports"].get(peer.get("node")) or {}).get(netid) or {}).get(ACCESS_PORT_KEY + name)
            table.append({"network": netid, "node": "%s%s via %s" % (ACCESS_PORT_KEY, name, peer.get("node")),
                          "prefix": "host %s" % peer.get("host"), "ipv4": "-", "ports": port or "-", "state": "active"})
    for block in ledger["released"]["blocks"]:
        table.append({"network": "-", "node": "-", "prefix": block, "ipv4": "-", "ports": "-", "state": "released"})
    for netid, prefixes in sorted(ledger["released"]["prefixes"].items()):
        for prefix in prefixes:
            table.append({"network": netid, "node": "-", "prefix": prefix, "ipv4": "-", "ports": "-",
                          "state": "released"})
    return table


def table_lines(ledger):
    columns = ("network", "node", "prefix", "ipv4", "ports", "state")
    body = rows(ledger)
    width = {c: max([len(c)] + [len(str(r[c])) for r in body]) for c in columns}

    def line(row):
        return "  ".join(str(row[c]).ljust(width[c]) for c in columns).rstrip()
    return [line({c: c.upper() for c in columns})] + [line(r) for r in body]
