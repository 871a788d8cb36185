# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: prefix carving that never renumbers."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.gridnet.tenant.plugins.filter.mesh import require_netaddr
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils import carving


def carve(pool, prefixlen, keys, existing=None, released=None):
    require_netaddr()
    try:
        return carving.carve(pool, int(prefixlen), list(keys), existing or {}, released or ())
    except PlanError as exc:
        raise AnsibleFilterError("gridnet.tenant.carve: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"carve": carve}
