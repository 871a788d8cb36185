# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the complete tenant-network plan from the inventory."""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils import inventory, mesh
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import filter_errors, require_netaddr


@filter_errors
def plan(networks, hostvars, groups=None, public_keys=None, assignments=None):
    require_netaddr()
    return mesh.plan(networks, hostvars, groups, public_keys, assignments)


@filter_errors
def networks_of(networks, node, hostvars, groups=None):
    """Netids of the networks `node` is a member (or the exit) of: what the key step needs before any plan."""
    return sorted(
        str(net["netid"]) for net in networks
        if node == (net.get("exit") or {}).get("node")
        or node in inventory.resolve_members(net.get("netid"), net.get("members"), hostvars, groups))


class FilterModule(object):
    def filters(self):
        return {"plan": plan, "networks_of": networks_of}
