# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routes on the upstream router: each tenant network's block towards its exit.

The router's routes of protocol ROUTE_PROTO are this collection's: the set
given is made exact (missing ones added, changed ones replaced, others of the
protocol removed); routes of any other origin are never touched.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.gridnet.tenant.plugins.module_utils.netlink import (
    Change,
    ConvergeError,
    NetlinkError,
    apply_changes,
    owned_routes,
)
from ansible_collections.gridnet.tenant.plugins.module_utils.resource import ROUTE_PROTO

try:
    from pyroute2 import IPRoute
except ImportError:  # reported by the modules through missing_required_lib
    IPRoute = None


def desired_routes(routes):
    wanted = {}
    for position, route in enumerate(routes):
        what = "routes[%d]" % position
        if not isinstance(route, dict) or not route.get("prefix") or not route.get("via"):
            raise ConvergeError("%s: needs prefix and via (an item of plan.upstream_routes)" % what)
        try:
            prefix = ipaddress.ip_network(route["prefix"], strict=True)
            via = ipaddress.ip_address(route["via"])
        except ValueError as exc:
            raise ConvergeError("%s: %s" % (what, exc))
        if prefix.version != via.version:
            raise ConvergeError("%s: %s and next hop %s are not of one IP version" % (what, prefix, via))
        if str(prefix) in wanted and wanted[str(prefix)] != "via %s" % via:
            raise ConvergeError("%s: %s is routed twice, via %s and via %s" % (what, prefix, wanted[str(prefix)][4:], via))
        wanted[str(prefix)] = "via %s" % via
    return dict(sorted(wanted.items()))


def read_routes(ipr):
    routes = {}
    for dst, route in owned_routes(ipr, ROUTE_PROTO):
        if route.get_attr("RTA_DST") is not None:  # prefix routes only: a default route is not ours to manage
            routes[dst] = "via %s" % route.get_attr("RTA_GATEWAY")
    return dict(sorted(routes.items()))


def converge(routes, check_mode=False):
    wanted = desired_routes(routes)
    with IPRoute() as ipr:
        actual = read_routes(ipr)
        changes = []
        for dst in sorted(set(actual) - set(wanted)):
            changes.append(Change("remove route %s %s" % (dst, actual[dst]), lambda dst=dst: ipr.route(
                "del", dst=dst, gateway=actual[dst][4:], proto=ROUTE_PROTO)))
        for dst, via in wanted.items():
            if actual.get(dst) != via:
                changes.append(Change("route %s %s" % (dst, via), lambda dst=dst, via=via: ipr.route(
                    "replace", dst=dst, gateway=via[4:], proto=ROUTE_PROTO)))
        if not check_mode:
            apply_changes(changes, (NetlinkError, OSError))
    return {"changes": [c.text for c in changes], "before": actual, "after": wanted}
