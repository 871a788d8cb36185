# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the complete tenant-network plan from the inventory."""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import inventory, mesh
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import filter_errors, require_netaddr
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.topology import Topology


@filter_errors
def plan(networks, hostvars, groups=None, public_keys=None, assignments=None):
    require_netaddr()
    return mesh.plan(networks, hostvars, groups, public_keys, assignments)


@filter_errors
def compact_plan(networks, hostvars, groups=None, public_keys=None, assignments=None):
    require_netaddr()
    return mesh.compact_plan(networks, hostvars, groups, public_keys, assignments)[0]


@filter_errors
def networks_of(networks, node, hostvars, groups=None):
    """Netids of the networks `node` is a member (or the exit) of: what the key step needs before any plan."""
    return sorted(
        str(net["netid"]) for net in networks
        if node in [(e or {}).get("node") for e in [net.get("exit")] + list(net.get("exits") or [])]
        or node in inventory.resolve_members(net.get("netid"), net.get("members"), hostvars, groups))


@filter_errors
def checked_networks(networks, hostvars, groups=None):
    """The networks, unchanged, once everything that can be checked without keys or allocations is:
    the keys step runs after it, so a plan refused for the inventory leaves no key behind."""
    require_netaddr()
    nets, underlays, _gateways = inventory.read_networks(networks, hostvars, groups)
    for net in nets:
        Topology(net, underlays)  # link MTUs, and a path between every two members
    return networks


class FilterModule(object):
    def filters(self):
        return {"plan": plan, "compact_plan": compact_plan, "networks_of": networks_of,
                "checked_networks": checked_networks}
