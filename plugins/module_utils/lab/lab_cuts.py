# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cut links of the lab on purpose, in the underlay, and mend them.

A cut "a:b" drops, in node a's own network namespace (its underlay, never a
tenant namespace), every UDP datagram a sends to or receives from b's underlay
addresses: the WireGuard link between them (and any link relayed through b)
dies as a broken cable would kill it, while the tenant network is left to
notice. Name first the node that sees the other's configured address: the
one behind NAT, when one of them is. Each node's cuts are one nft table,
CUT_TABLE, rewritten whole from the lab's list of cuts.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.lab.lab import LabError, run

CUT_TABLE = "gridnet_lab_cut"


def parse(text, nodes):
    """(a, b) of "a:b", both nodes of the lab."""
    parts = str(text).split(":")
    if len(parts) != 2 or parts[0] == parts[1] or not all(p in nodes for p in parts):
        raise LabError("cut %r: give two different nodes of the lab as a:b" % (text,))
    return tuple(parts)


def underlay_addresses(topology, node):
    underlay = ((topology.get("hosts") or {}).get(node) or {}).get("gridnet_tenant_underlay") or {}
    return [underlay[f] for f in ("ipv6", "ipv4") if underlay.get(f)]


def ruleset(topology, cuts, node):
    """node's cut table for the cuts (a, b) it makes (a == node), deleted and made again whole."""
    far = sorted({address for a, b in cuts if a == node for address in underlay_addresses(topology, b)})
    lines = ["table inet %s {}" % CUT_TABLE, "delete table inet %s" % CUT_TABLE]
    if not far:
        return "\n".join(lines) + "\n"
    rules_in, rules_out = [], []
    for address in far:
        family = "ip6" if ":" in address else "ip"
        rules_in.append("meta l4proto udp %s saddr %s drop" % (family, address))
        rules_out.append("meta l4proto udp %s daddr %s drop" % (family, address))
    lines += ["table inet %s {" % CUT_TABLE,
              "  chain input { type filter hook input priority -300; %s; }" % "; ".join(rules_in),
              "  chain output { type filter hook output priority -300; %s; }" % "; ".join(rules_out),
              "}"]
    return "\n".join(lines) + "\n"


def apply(topology, pids, before, after):
    """Rewrite the cut table of every node whose cuts differ between the two lists of (a, b)."""
    touched = sorted({a for a, _b in set(before) ^ set(after)})
    for node in touched:
        run(pids[node], ["nft", "-f", "-"], input=ruleset(topology, after, node))
    return touched
