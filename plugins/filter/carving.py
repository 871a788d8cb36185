# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: prefix carving that never renumbers."""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import carving
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import filter_errors, require_netaddr


@filter_errors
def carve(pool, prefixlen, keys, existing=None, released=None):
    require_netaddr()
    return carving.carve(pool, int(prefixlen), list(keys), existing or {}, released or ())


class FilterModule(object):
    def filters(self):
        return {"carve": carve}
