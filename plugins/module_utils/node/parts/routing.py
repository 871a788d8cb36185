# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How packets find their way, as parts: the static routes, the relay's forwarding (relay.py), babeld
(babel.py). The last two keep their logic in their own modules, which the node agent and pruning use too;
these classes put them behind the parts' protocol.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.node import babel, relay, routes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts import Part


class Routes(Part):
    """The resource's static routes, of protocol rules.ROUTE_PROTO: to each linked peer's prefixes (unless
    babeld routes them), and the plan's routes through relays and towards the exit. State: {dst: record}."""

    def desired(self):
        resource, wanted = self.resource, {}
        if not resource.get("babel"):  # with babel, babeld installs the routes
            for link in resource["connected"]:
                for prefix in link["prefixes"]:
                    wanted[prefix] = routes.route(link["peer_link_local"], link["interface"])
        for route in resource.get("routes", []):
            wanted[route["dst"]] = routes.route(route["gateway"], route["interface"])
        return {"routes": dict(sorted(wanted.items()))}

    def read(self, view):
        return {"routes": routes.read(view.ns, rules.ROUTE_PROTO) if view.exists else {}}

    def changes(self, desired, actual):
        return routes.changes(self.target.ns, actual["routes"], desired["routes"], rules.ROUTE_PROTO)


class Relay(Part):
    """The node's kernel UDP relay for pairs behind NAT (relay.py): one nftables table per IP version."""

    @staticmethod
    def check(resource):
        relay.check(resource)

    def desired(self):
        return {"relay": relay.desired(self.resource, keep=not self.target.check_mode)}

    def read(self, view):
        return {"relay": relay.read(self.resource, relay.tables())}

    def changes(self, desired, actual):
        return relay.changes(self.resource, actual["relay"], desired["relay"])


class Babel(Part):
    """The resource's babeld with routing: babel (babel.py): its configuration and its process."""

    @staticmethod
    def check(resource):
        babel.check(resource)

    def desired(self):
        return {"babel": babel.desired(self.resource)}

    def read(self, view):
        return {"babel": babel.read(self.resource)}

    def node_check(self, desired, actual):
        babel.node_check(self.resource)

    def changes(self, desired, actual):
        return babel.changes(self.resource, actual["babel"], desired["babel"])
