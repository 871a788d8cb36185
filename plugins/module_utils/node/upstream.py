# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routes on the upstream router as a converge target: each tenant network's block towards its exit.

The router's routes of protocol rules.ROUTE_PROTO are this collection's: the
set given is made exact (missing ones added, changed ones replaced, others of
the protocol removed); routes of any other origin are never touched.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.gridnet.tenant.plugins.module_utils.node import convergence
from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.node import routes
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import APPLY_ERRORS

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute


def desired_routes(wanted_routes):
    wanted = {}
    for position, route in enumerate(wanted_routes):
        what = "routes[%d]" % position
        if not isinstance(route, dict) or not route.get("prefix") or not route.get("via"):
            raise InputError("%s: needs prefix and via (an item of plan.upstream_routes)" % what)
        prefix = rules.prefix(route["prefix"], what)
        try:
            via = ipaddress.ip_address(route["via"])
        except ValueError as exc:
            raise InputError("%s: %s" % (what, exc))
        if prefix.version != via.version:
            raise InputError("%s: %s and next hop %s are not of one IP version" % (what, prefix, via))
        metric = route.get("metric")
        if metric is not None and (isinstance(metric, bool) or not isinstance(metric, int) or metric < 0):
            raise InputError("%s: metric %r is not a number" % (what, metric))
        key = route_key(str(prefix), metric)
        if key in wanted and wanted[key]["via"] != str(via):
            raise InputError("%s: %s is routed twice, via %s and via %s" % (what, key, wanted[key]["via"], via))
        wanted[key] = routes.route(str(via), metric=metric)
    plain = {key for key in wanted if " " not in key}
    both = sorted(key.split(" ")[0] for key in wanted if " " in key and key.split(" ")[0] in plain)
    if both:
        raise InputError("%s is routed with and without a metric: give every route to it a metric" % both[0])
    return dict(sorted(wanted.items()))


def route_key(prefix, metric):
    """A route's key: its prefix, or "PREFIX metric N" when several routes (one per exit) go to one prefix."""
    return prefix if metric is None else "%s metric %d" % (prefix, metric)


def read_routes(ipr, wanted):
    """Our routes keyed as `wanted` keys them: by prefix, or by prefix and metric where wanted gives metrics
    (and for a second route to one prefix)."""
    found = {}
    with_metrics = {key.split(" ")[0] for key in wanted if " " in key}
    defaults = set(routes.DEFAULTS.values())
    for prefix, record in routes.entries(ipr, rules.ROUTE_PROTO, fields=("via", "metric")):
        if prefix in defaults:
            continue  # not ours to manage
        if prefix not in with_metrics and prefix not in found:
            found[prefix] = routes.route(record["via"])
        else:
            found[route_key(prefix, record["metric"])] = record
    return dict(sorted(found.items()))


class UpstreamRoutes(convergence.Target):
    """Prefix routes only: a default route is not ours to manage."""

    apply_errors = APPLY_ERRORS
    # states with routes: route records read as text
    display = staticmethod(routes.display)
    shown = staticmethod(routes.shown)

    def __init__(self, ipr, wanted_routes):
        self.ipr, self.wanted = ipr, desired_routes(wanted_routes)

    def desired(self):
        return {"routes": self.wanted}

    def read(self):
        return {"routes": read_routes(self.ipr, self.wanted)}

    def changes(self, desired, actual):
        return routes.changes(lambda: self.ipr, actual["routes"], desired["routes"], rules.ROUTE_PROTO)


def converge(wanted_routes, check_mode=False):
    with IPRoute() as ipr:
        result = convergence.converge(UpstreamRoutes(ipr, wanted_routes), check_mode)
    return dict(result, before=result["before"]["routes"], after=result["after"]["routes"])
