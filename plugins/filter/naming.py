# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: deterministic interface names and link-local addresses."""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.common.rules import check_public_key
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import naming
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import filter_errors as _checked


@_checked
def resource_names(netid, tag=None):
    return naming.resource_names(naming.net_tag(netid, tag))


@_checked
def wireguard_ifname(public_key):
    check_public_key(public_key, "wireguard_ifname")
    return naming.wireguard_ifname(public_key)


@_checked
def checked_public_keys(public_keys, node):
    """The node's published public keys, each checked by the rule the planner applies: refused here,
    whether or not the node makes a key of its own this run (a --limit run plans without that)."""
    if not isinstance(public_keys, dict):
        raise PlanError("node %r: gridnet_tenant_public_keys must be a mapping of netid to public key" % node)
    for netid, key in public_keys.items():
        check_public_key(key, "network %r, node %r" % (netid, node))
    return public_keys


@_checked
def link_local(node, netid):
    return naming.link_local(netid, node)


class FilterModule(object):
    def filters(self):
        return {
            "resource_names": resource_names,
            "wireguard_ifname": wireguard_ifname,
            "link_local": link_local,
            "checked_public_keys": checked_public_keys,
        }
