# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: deterministic interface names and link-local addresses."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils import naming


def _checked(function):
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except PlanError as exc:
            raise AnsibleFilterError("gridnet.tenant.%s: %s" % (function.__name__, exc))
    wrapper.__name__ = function.__name__
    return wrapper


@_checked
def resource_names(netid, tag=None):
    return naming.resource_names(naming.net_tag(netid, tag))


@_checked
def wireguard_ifname(public_key):
    naming.validate_public_key(public_key, "wireguard_ifname")
    return naming.wireguard_ifname(public_key)


@_checked
def link_local(node, netid):
    return naming.link_local(netid, node)


class FilterModule(object):
    def filters(self):
        return {
            "resource_names": resource_names,
            "wireguard_ifname": wireguard_ifname,
            "link_local": link_local,
        }
