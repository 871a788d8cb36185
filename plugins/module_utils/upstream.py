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

from ansible_collections.gridnet.tenant.plugins.module_utils import converge as shape
from ansible_collections.gridnet.tenant.plugins.module_utils import routes, rules
from ansible_collections.gridnet.tenant.plugins.module_utils.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.netlink import APPLY_ERRORS

from ansible_collections.gridnet.tenant.plugins.module_utils.pyroute import IPRoute


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
        if str(prefix) in wanted and wanted[str(prefix)]["via"] != str(via):
            raise InputError("%s: %s is routed twice, via %s and via %s"
                             % (what, prefix, wanted[str(prefix)]["via"], via))
        wanted[str(prefix)] = routes.route(str(via))
    return dict(sorted(wanted.items()))


class UpstreamRoutes(shape.Target):
    """Prefix routes only: a default route is not ours to manage."""

    apply_errors = APPLY_ERRORS

    def __init__(self, ipr, wanted_routes):
        self.ipr, self.wanted = ipr, desired_routes(wanted_routes)

    def desired(self):
        return {"routes": self.wanted}

    def read(self):
        return {"routes": routes.read(self.ipr, rules.ROUTE_PROTO, fields=("via",), prefixes_only=True)}

    def changes(self, desired, actual):
        return routes.changes(lambda: self.ipr, actual["routes"], desired["routes"], rules.ROUTE_PROTO)


def converge(wanted_routes, check_mode=False):
    with IPRoute() as ipr:
        result = shape.converge(UpstreamRoutes(ipr, wanted_routes), check_mode)
    return dict(result, before=result["before"]["routes"], after=result["after"]["routes"])
