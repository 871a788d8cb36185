# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each network's exits (the preferred one first), and the upstream router's routes to them.

An exit entry is what gridnet.tenant.exit_gateway converges on its node:
uplink, default routes, allow-list and port forwards (docs/exit-gateway.md).
With several exits (docs/routing.md, exit failover) every one gets its own
entry, and the upstream routes follow the same order of preference.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import exit_table, uplink_mac

# What an exit's default routes cost in Babel, plus BACKUP_EXIT_COST per rank: more than any path through the mesh,
# so every node leaves through the preferred exit while it is reachable, the way the upstream routes replies back
EXIT_DEFAULT_METRIC = 128
BACKUP_EXIT_COST = 4096
UPSTREAM_METRIC = 1024  # the upstream's route to a block through each exit, plus UPSTREAM_METRIC_STEP per rank
UPSTREAM_METRIC_STEP = 256


def exit_rank(net):
    """{exit node: its rank}, 0 for the preferred exit."""
    return {node: rank for rank, (node, _ipv6, _ipv4) in enumerate(exits_of(net))}


def exits_of(net):
    """[(node, uplink ipv6, uplink ipv4)] of every exit of the network, the preferred first."""
    return [(net.exit_node, net.exit_ipv6, net.exit_ipv4)] + list(net.backup_exits)


def exit_entries(rendered, gateways):
    """Every exit of the network, the preferred first."""
    return [exit_entry(rendered, gateways[node], node, ipv6, ipv4) for node, ipv6, ipv4 in exits_of(rendered.net)]


def upstream_routes(rendered, exits):
    """The upstream router's route to the block through each exit (none for a NAT66'd ULA block).

    With several exits each carries a metric in the exits' order of preference, and a backup exit's own /64 is
    routed to it: its own workloads leave through its own uplink, so their replies must come back there.
    """
    if rendered.net.ipv6_nat:
        return []
    routes = [{"netid": e["netid"], "prefix": e["block"], "via": e["gateway_address"], "exit": e["node"]}
              for e in exits]
    if len(routes) > 1:
        for rank, route in enumerate(routes):
            route["metric"] = UPSTREAM_METRIC + UPSTREAM_METRIC_STEP * rank
        routes += [dict(route, prefix=rendered.prefixes[route["exit"]]) for route in routes[1:]]
    return routes


def exit_entry(rendered, gateway, node, ipv6, ipv4):
    net = rendered.net
    return {
        "netid": net.netid,
        "node": node,
        "namespace": rendered.names["namespace"],
        "block": rendered.block,
        "gateway_address": ipv6.split("/")[0],
        "table": exit_table(net.tag),
        "ipv6_nat": net.ipv6_nat,
        "uplink": {
            "name": rendered.names["uplink"],
            "mac": uplink_mac(net.netid, node),
            # Neighbour Discovery for forwarded packets is sent from a link-local address
            "link_local": rendered.link_local[node],
            "parent": gateway.parent,
            "metric": gateway.metric,
            "ipv6": {"address": ipv6, "gateway": gateway.ipv6_gateway},
            "ipv4": {"address": ipv4, "gateway": gateway.ipv4_gateway} if ipv4 else None,
        },
        "prefixes": [rendered.prefixes[m] for m in net.members],
        "ipv4_subnets": ([rendered.subnets[m] for m in net.members]
                         + ([rendered.access["ipv4"]] if rendered.access and rendered.access["ipv4"] else []))
        if rendered.subnets else [],
        "ipv4_range": str(net.ipv4_range) if net.ipv4_range is not None else None,
        "ipv6_allow": allow_list(rendered),
        "ipv4_dnat": forwards(rendered),
    }


def allow_list(rendered):
    """The allow-list with member entries resolved to their /64, checked by the rule the exit applies too."""
    entries = [{"prefix": e.prefix if e.node is None else rendered.prefixes[e.node], "proto": e.proto, "port": e.port}
               for e in rendered.net.ipv6_allow]
    rules.check_allow_list(entries, rendered.block, "network %r: " % rendered.net.netid)
    return entries


def forwards(rendered):
    result = []
    for entry in rendered.net.ipv4_dnat:
        if entry.to is not None:
            target = str(rules.dnat_target(entry.to, (rendered.subnets or {}).values(), entry.what))
        else:
            target = str(ipaddress.ip_network(rendered.subnets[entry.node])[entry.host])
        result.append({"proto": entry.proto, "port": entry.port, "to": target, "to_port": entry.to_port})
    return result
